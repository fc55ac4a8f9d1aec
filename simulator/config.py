"""Per-node configuration, by Redis directive name, with Redis 7.0 defaults.

Defaults from src/config.c ``standardConfig`` (behaviour reference §1.2). Only the
directives the simulator models are accepted; an unknown name is an error that
suggests the nearest known one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.keyspace_events import format_flags, parse_flags


@dataclass(frozen=True, slots=True)
class Directive:
    """One configuration directive: its type, default and what it means."""

    name: str
    kind: str  # "int" (ms or count), "bytes" (an int or 100mb), "bool" (yes/no), "enum", "save", "flags"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None


MAXMEMORY_POLICIES = (
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
)
"""``maxmemory-policy``'s values (config.c ``maxmemory_policy_enum``), the eviction
module's vocabulary (simulator/dataplane/eviction.py, §25.3)."""

DIRECTIVES: dict[str, Directive] = {
    d.name: d
    for d in (
        Directive(
            "cluster-node-timeout",
            "int",
            15000,
            "ms; most cluster timers are multiples of it (§1.3)",
            minimum=1,
            maximum=3_600_000,
        ),
        Directive(
            "cluster-replica-validity-factor",
            "int",
            10,
            "data-age limit factor for failover; 0 = never refuse (§11.2)",
            minimum=0,
            maximum=1_000_000,
        ),
        Directive(
            "cluster-migration-barrier",
            "int",
            1,
            "replicas a master keeps before one migrates away (§13)",
            minimum=0,
            maximum=1_000_000,
        ),
        Directive(
            "cluster-allow-replica-migration",
            "bool",
            True,
            "replica migration and 'follow who took my last slot' (§10.2, §13)",
        ),
        Directive(
            "cluster-require-full-coverage",
            "bool",
            True,
            "the cluster is down while any slot is unserved (§14)",
        ),
        Directive(
            "cluster-replica-no-failover",
            "bool",
            False,
            "this replica never starts an automatic failover (§11.1)",
        ),
        Directive(
            "cluster-allow-reads-when-down",
            "bool",
            False,
            "serve reads while the cluster state is fail (§14)",
        ),
        Directive(
            "cluster-allow-pubsubshard-when-down",
            "bool",
            True,
            "serve sharded pub/sub while down (§19)",
        ),
        Directive(
            "repl-ping-replica-period",
            "int",
            10,
            "seconds; enters the data-age formula (§11.2)",
            minimum=1,
            maximum=3600,
        ),
        Directive("repl-timeout", "int", 60, "seconds", minimum=1, maximum=3600),
        Directive(
            "repl-backlog-size",
            "int",
            1048576,
            "bytes of partial-resync window (§20.1)",
            minimum=16384,
            maximum=1 << 40,
        ),
        Directive(
            "repl-backlog-ttl",
            "int",
            3600,
            "seconds without replicas before a master frees its backlog; 0 = never (§20.1)",
            minimum=0,
            maximum=1 << 31,
        ),
        Directive(
            "repl-diskless-sync-delay",
            "int",
            5,
            "seconds a full sync waits before the transfer (§20.1)",
            minimum=0,
            maximum=3600,
        ),
        Directive(
            "min-replicas-to-write",
            "int",
            0,
            "refuse writes with fewer good replicas; 0 = off (§20.3)",
            minimum=0,
            maximum=1_000_000,
        ),
        Directive(
            "min-replicas-max-lag",
            "int",
            10,
            "seconds a replica's ACK may lag and still count as good (§20.3)",
            minimum=0,
            maximum=3600,
        ),
        Directive("appendonly", "bool", False, "AOF persistence (§21.2)"),
        Directive(
            "appendfsync",
            "enum",
            "everysec",
            "AOF fsync policy (§21.2)",
            choices=("always", "everysec", "no"),
        ),
        Directive(
            "save",
            "save",
            "3600 1 300 100 60 10000",
            "RDB save points 'seconds changes ...'; '' = off (§21.1)",
        ),
        Directive(
            "maxmemory",
            "bytes",
            0,
            "used_memory before keys are evicted, in bytes or with a unit (100mb); 0 = no limit (§25.2)",
            minimum=0,
            maximum=1 << 50,
        ),
        Directive(
            "maxmemory-policy",
            "enum",
            "noeviction",
            "which keys maxmemory evicts (§25.3)",
            choices=MAXMEMORY_POLICIES,
        ),
        Directive(
            "maxmemory-samples",
            "int",
            5,
            "keys sampled into the eviction pool per eviction (§25.3)",
            minimum=1,
            maximum=64,
        ),
        Directive(
            "lfu-log-factor",
            "int",
            10,
            "how slowly the LFU counter grows (§25.5)",
            minimum=0,
            maximum=2_147_483_647,
        ),
        Directive(
            "lfu-decay-time",
            "int",
            1,
            "minutes per LFU counter decrement while idle; 0 = never (§25.5)",
            minimum=0,
            maximum=2_147_483_647,
        ),
        Directive(
            "replica-ignore-maxmemory",
            "bool",
            True,
            "a replica never evicts; it takes its master's DELs (§25.7)",
        ),
        Directive(
            "hz",
            "int",
            10,
            "serverCron calls per second; the active expire cycle runs in each (§26.2)",
            minimum=1,
            maximum=500,
        ),
        Directive(
            "active-expire-effort",
            "int",
            1,
            "1-10: keys per loop, time budget and acceptable stale of expiry (§26.2)",
            minimum=1,
            maximum=10,
        ),
        Directive(
            "tracking-table-max-keys",
            "int",
            1_000_000,
            "keys the CLIENT TRACKING table remembers; over it, random ones are "
            "invalidated; 0 = no limit",
            minimum=0,
            maximum=2_147_483_647,
        ),
        Directive(
            "notify-keyspace-events",
            "flags",
            "",
            "keyspace notification classes, e.g. Ex; '' = off (§26.4)",
        ),
        Directive(
            "shutdown-timeout",
            "int",
            10,
            "seconds a master waits for replicas on SHUTDOWN (§21.3)",
            minimum=0,
            maximum=3600,
        ),
    )
}


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The closest valid word to a typo, if one is close enough."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


class ConfigError(ValueError):
    """A directive name or value that Redis would refuse."""


def parse_save(value: str) -> tuple[tuple[int, int], ...]:
    """Parse ``save`` points: ``"3600 1 300 100"`` → ``((3600, 1), (300, 100))``."""
    parts = str(value).split()
    if len(parts) % 2:
        raise ConfigError(f"save needs pairs of 'seconds changes', got {value!r}")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"save needs integers, got {value!r}") from None
    if any(n < 0 for n in numbers):
        raise ConfigError(f"save points must not be negative: {value!r}")
    return tuple((numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2))


MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2}
MEMORY_UNITS |= {"g": 1000**3, "gb": 1024**3}
"""util.c ``memtoull``: a memory size's units (k = 1000, kb = 1024, …, any case)."""


def memtoull(name: str, text: str) -> int:
    """``100mb`` → 104857600, as Redis reads a memory directive."""
    digits = text.strip().lower()
    number = digits.rstrip("bkmg")
    unit = digits[len(number) :]
    if not number.isdigit() or unit not in MEMORY_UNITS:
        raise ConfigError(f"{name} takes bytes or a size like 100mb, got {text!r}")
    return int(number) * MEMORY_UNITS[unit]


def coerce(name: str, value: Any) -> Any:
    """Check and convert ``value`` for directive ``name`` (as ``CONFIG SET`` would)."""
    directive = DIRECTIVES.get(name)
    if directive is None:
        hint = suggest(name, list(DIRECTIVES))
        extra = f" (did you mean '{hint}'?)" if hint else ""
        raise ConfigError(f"unknown directive '{name}'{extra}")
    if directive.kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("yes", "no"):
            return str(value).lower() == "yes"
        raise ConfigError(f"{name} takes yes or no, got {value!r}")
    if directive.kind == "bytes" and isinstance(value, str):
        value = memtoull(name, value)
    if directive.kind in ("int", "bytes"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(f"{name} takes an integer, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} takes an integer, got {value!r}") from None
        if directive.minimum is not None and number < directive.minimum:
            raise ConfigError(f"{name} must be at least {directive.minimum}, got {number}")
        if directive.maximum is not None and number > directive.maximum:
            raise ConfigError(f"{name} must be at most {directive.maximum}, got {number}")
        return number
    if directive.kind == "enum":
        text = str(value).lower()
        if text not in directive.choices:
            raise ConfigError(f"{name} takes one of {', '.join(directive.choices)}, got {value!r}")
        return text
    if directive.kind == "flags":
        try:
            return format_flags(parse_flags("" if value is None else str(value)))
        except ValueError as error:
            raise ConfigError(str(error)) from None
    if directive.kind == "save":
        parse_save("" if value is None else str(value))
        return "" if value is None else str(value)
    raise AssertionError(directive.kind)


class NodeConfig:
    """The effective configuration of one node (a mutable copy per node, like ``CONFIG SET``)."""

    __slots__ = ("_values",)

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = {name: d.default for name, d in DIRECTIVES.items()}
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def set(self, name: str, value: Any) -> None:
        self._values[name] = coerce(name, value)

    def get(self, name: str) -> Any:
        return self._values[name]

    def copy(self) -> NodeConfig:
        clone = NodeConfig()
        clone._values = dict(self._values)
        return clone

    def items(self) -> list[tuple[str, Any]]:
        return list(self._values.items())

    # Hot-path accessors used by the cluster bus every tick.
    @property
    def node_timeout(self) -> int:
        return int(self._values["cluster-node-timeout"])
