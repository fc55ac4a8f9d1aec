"""Request routing: Redis's ``getNodeByQuery`` (src/cluster.c, behaviour reference §15).

:func:`get_node_by_query` decides, for one command arriving at one node, whether that
node serves it or which error/redirect it answers, in Redis's exact check order and
with Redis's exact error texts. It reads the node only through :class:`NodeView` and
never changes anything; :meth:`Session.after_command` applies the client-flag effects
(ASKING is one-shot, READONLY/READWRITE).

Simplifications: no MULTI/EXEC queue (each command is routed alone), no blocked
clients, keys are text; only the commands in :data:`COMMANDS` are known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.slots import key_hash_slot

# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """What routing needs to know about a command (src/commands/*.json, 7.0).

    ``arity`` follows Redis: positive = exact argc, negative = at least ``-arity``.
    ``keys``: ``none``, ``first`` (argv[1]), ``all`` (argv[1:]), ``pairs`` (argv[1::2]),
    ``migrate`` (``migrateGetKeys``). ``asking`` is ``CMD_ASKING``; ``shard`` marks the
    sharded pub/sub commands, whose "keys" are channels.
    """

    name: str
    arity: int
    write: bool
    keys: str = "none"
    asking: bool = False
    shard: bool = False


COMMANDS: dict[str, CommandSpec] = {
    c.name: c
    for c in (
        CommandSpec("GET", 2, False, "first"),
        CommandSpec("SET", -3, True, "first"),
        CommandSpec("DEL", -2, True, "all"),
        CommandSpec("MGET", -2, False, "all"),
        CommandSpec("MSET", -3, True, "pairs"),
        CommandSpec("EXISTS", -2, False, "all"),
        CommandSpec("INCR", 2, True, "first"),
        CommandSpec("MIGRATE", -6, True, "migrate"),
        CommandSpec("RESTORE-ASKING", -4, True, "first", asking=True),
        CommandSpec("PUBLISH", 3, False),
        CommandSpec("SPUBLISH", 3, False, "first", shard=True),
        CommandSpec("SSUBSCRIBE", -2, False, "all", shard=True),
        CommandSpec("SUNSUBSCRIBE", -1, False, "all", shard=True),
        CommandSpec("SUBSCRIBE", -2, False),
        CommandSpec("UNSUBSCRIBE", -1, False),
        CommandSpec("PSUBSCRIBE", -2, False),
        CommandSpec("PUNSUBSCRIBE", -1, False),
        CommandSpec("ASKING", 1, False),
        CommandSpec("READONLY", 1, False),
        CommandSpec("READWRITE", 1, False),
        CommandSpec("WAIT", 3, False),
        CommandSpec("EXPIRE", -3, True, "first"),
        CommandSpec("PEXPIRE", -3, True, "first"),
        CommandSpec("EXPIREAT", -3, True, "first"),
        CommandSpec("PEXPIREAT", -3, True, "first"),
        CommandSpec("PERSIST", 2, True, "first"),
        CommandSpec("TTL", 2, False, "first"),
        CommandSpec("PTTL", 2, False, "first"),
        CommandSpec("EXPIRETIME", 2, False, "first"),
        CommandSpec("PEXPIRETIME", 2, False, "first"),
    )
}


class CommandError(ValueError):
    """A command Redis rejects before routing (unknown name, wrong arity)."""


def _migrate_keys(argv: Sequence[str]) -> list[str]:
    """``migrateGetKeys`` (src/db.c): argv[3], or what follows ``KEYS`` when argv[3] is ''."""
    skip = {"copy": 0, "replace": 0, "auth": 1, "auth2": 2}
    if len(argv) > 6:
        i = 6
        while i < len(argv):
            word = argv[i].lower()
            if word == "keys":
                return [] if argv[3] else list(argv[i + 1 :])
            i += skip.get(word, 0) + 1
    return [argv[3]]


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed command: its spec, its arguments and its keys (or channels)."""

    spec: CommandSpec
    argv: tuple[str, ...]
    keys: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.spec.name


def parse_command(argv: Sequence[str]) -> Request:
    """Look up and arity-check ``argv`` as ``processCommand`` does before routing."""
    if not argv:
        raise CommandError("ERR empty command")
    spec = COMMANDS.get(argv[0].upper())
    if spec is None:
        shown = "".join(f"'{a}' " for a in argv[1:])[:128]
        raise CommandError(f"ERR unknown command '{argv[0]}', with args beginning with: {shown}")
    n = len(argv)
    if (spec.arity > 0 and n != spec.arity) or (spec.arity < 0 and n < -spec.arity):
        raise CommandError(f"ERR wrong number of arguments for '{spec.name.lower()}' command")
    if spec.keys == "first":
        keys: list[str] = [argv[1]]
    elif spec.keys == "all":
        keys = list(argv[1:])
    elif spec.keys == "pairs":
        if n % 2 == 0:
            raise CommandError(f"ERR wrong number of arguments for '{spec.name.lower()}' command")
        keys = list(argv[1::2])
    elif spec.keys == "migrate":
        keys = _migrate_keys(argv)
    else:
        keys = []
    return Request(spec, tuple(argv), tuple(keys))


# --------------------------------------------------------------------------- the node's view


class ConfigLike(Protocol):
    def get(self, name: str) -> Any: ...


class NodeView(Protocol):
    """What routing reads from the node that received the command (its own view)."""

    @property
    def name(self) -> str: ...

    @property
    def is_master(self) -> bool: ...

    @property
    def master_name(self) -> str | None:
        """Whom I replicate (None for a master)."""

    @property
    def state(self) -> str:
        """My cluster state: ``"ok"`` or ``"fail"`` (§14)."""

    @property
    def migrating(self) -> Mapping[int, str]: ...

    @property
    def importing(self) -> Mapping[int, str]: ...

    @property
    def config(self) -> ConfigLike: ...

    def slot_owner(self, slot: int) -> str | None: ...

    def addr_of(self, name: str) -> str:
        """``ip:port`` a client is redirected to for node ``name``."""

    def key_exists(self, key: str) -> bool:
        """Whether ``key`` is in my db 0 right now."""


@dataclass(slots=True)
class Session:
    """One client connection's state on one node: the flags routing depends on (ASKING,
    one-shot, and READONLY) and ``woff``, the node's replication offset after the last
    command it ran for this connection (``c->woff``, which WAIT waits for, §20.3)."""

    asking: bool = False
    readonly: bool = False
    woff: int = 0

    def after_command(self, name: str) -> None:
        """Apply a command's effect on the flags once it was processed (served or not).

        ASKING sets the flag; any other command clears it afterwards
        (src/networking.c ``resetClient``), even when it was redirected. READONLY sets,
        READWRITE clears the read-only flag.
        """
        upper = name.upper()
        if upper == "ASKING":
            self.asking = True
            return
        self.asking = False
        if upper == "READONLY":
            self.readonly = True
        elif upper == "READWRITE":
            self.readonly = False


# --------------------------------------------------------------------------- the decision

SERVE = "serve"
MOVED = "MOVED"
ASK = "ASK"
TRYAGAIN = "TRYAGAIN"
CROSSSLOT = "CROSSSLOT"
DOWN = "CLUSTERDOWN"
DOWN_RO = "CLUSTERDOWN_RO"
UNBOUND = "CLUSTERDOWN_UNBOUND"

ERR_TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
ERR_CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
ERR_DOWN = "CLUSTERDOWN The cluster is down"
ERR_DOWN_RO = "CLUSTERDOWN The cluster is down and only accepts read commands"
ERR_UNBOUND = "CLUSTERDOWN Hash slot not served"


@dataclass(frozen=True, slots=True)
class Route:
    """The routing decision.

    ``kind`` is :data:`SERVE` or one of the redirect/error kinds; ``node`` is the node
    that serves (myself) or the redirect target; ``error`` is Redis's reply text
    without the RESP ``-`` (e.g. ``MOVED 3999 127.0.0.1:7002``).
    """

    kind: str
    slot: int | None = None
    node: str | None = None
    error: str | None = None

    @property
    def served(self) -> bool:
        return self.kind == SERVE


def get_node_by_query(view: NodeView, request: Request, session: Session) -> Route:
    """``getNodeByQuery`` (§15), in Redis's order:

    unbound first slot ⇒ ``CLUSTERDOWN Hash slot not served``; a key in another slot ⇒
    CROSSSLOT; no keys ⇒ serve; state not ok ⇒ the §14 CLUSTERDOWN rules (sharded
    pub/sub per ``cluster-allow-pubsubshard-when-down``, reads per
    ``cluster-allow-reads-when-down``); MIGRATE on an open slot ⇒ serve; migrating with
    missing keys ⇒ TRYAGAIN if some keys exist, else ASK; importing with ASKING ⇒
    TRYAGAIN for several distinct keys with some missing, else serve; READONLY (or
    sharded pub/sub) non-write on a replica of the owner ⇒ serve; else MOVED or serve.
    """
    spec = request.spec
    me = view.name
    first: str | None = None
    slot = 0
    owner: str | None = None
    migrating = importing = multiple_keys = False
    missing = existing = 0
    for key in request.keys:
        this_slot = key_hash_slot(key)
        if first is None:
            first, slot = key, this_slot
            owner = view.slot_owner(slot)
            if owner is None:
                return Route(UNBOUND, slot, None, ERR_UNBOUND)
            if owner == me and slot in view.migrating:
                migrating = True
            elif slot in view.importing:
                importing = True
        elif key != first:
            if this_slot != slot:
                return Route(CROSSSLOT, None, None, ERR_CROSSSLOT)
            multiple_keys = True
        # Sharded pub/sub channels are never looked up: the source serves them
        # until SETSLOT NODE (§19).
        if (migrating or importing) and not spec.shard:
            if view.key_exists(key):
                existing += 1
            else:
                missing += 1
    if owner is None:
        return Route(SERVE, None, me)
    if view.state != "ok":
        if spec.shard:
            if not view.config.get("cluster-allow-pubsubshard-when-down"):
                return Route(DOWN, slot, None, ERR_DOWN)
        elif not view.config.get("cluster-allow-reads-when-down"):
            return Route(DOWN, slot, None, ERR_DOWN)
        elif spec.write:
            return Route(DOWN_RO, slot, None, ERR_DOWN_RO)
    if (migrating or importing) and spec.name == "MIGRATE":
        return Route(SERVE, slot, me)
    if migrating and missing:
        if existing:
            return Route(TRYAGAIN, slot, None, ERR_TRYAGAIN)
        target = view.migrating[slot]
        return Route(ASK, slot, target, f"ASK {slot} {view.addr_of(target)}")
    if importing and (session.asking or spec.asking):
        if multiple_keys and missing:
            return Route(TRYAGAIN, slot, None, ERR_TRYAGAIN)
        return Route(SERVE, slot, me)
    if (
        (session.readonly or spec.shard)
        and not spec.write
        and not view.is_master
        and view.master_name == owner
    ):
        return Route(SERVE, slot, me)
    if owner != me:
        return Route(MOVED, slot, owner, f"MOVED {slot} {view.addr_of(owner)}")
    return Route(SERVE, slot, me)


def route_command(view: NodeView, argv: Sequence[str], session: Session) -> Route:
    """Parse, route, then apply the session effects, as one client round trip does.

    Raises :class:`CommandError` for unknown commands and wrong arity (Redis replies
    with that error before routing; the ASKING flag is still cleared).
    """
    try:
        request = parse_command(argv)
    except CommandError:
        session.after_command(argv[0] if argv else "")
        raise
    route = get_node_by_query(view, request, session)
    session.after_command(request.name)
    return route
