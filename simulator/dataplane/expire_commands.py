"""The commands on TTLs, as one node runs them once routing served them (§26.1):
``EXPIRE``/``PEXPIRE``/``EXPIREAT``/``PEXPIREAT`` (``expireGenericCommand``),
``TTL``/``PTTL``/``EXPIRETIME``/``PEXPIRETIME`` (``ttlGenericCommand``), ``PERSIST``, and
``SET``'s expiry options (``parseExtendedStringArgumentsOrReply``), all in expire.c /
t_string.c of Redis 7.0.15.

A master replicates every TTL as an absolute time (an :class:`~simulator.replication.
ExpireOp`, ``PEXPIREAT`` on the stream), a TTL already in the past as a ``DEL``, and
``PERSIST`` as itself. Keys are looked up as Redis does (``lookupKeyRead`` /
``lookupKeyWrite``), so a logically expired key is missing, and a master deletes it
then (:func:`~simulator.dataplane.expiry.expire_if_needed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulator.dataplane import expiry
from simulator.dataplane.expiry import Plane
from simulator.keyspace_events import GENERIC, STRING
from simulator.node import Node
from simulator.replication import ExpireOp

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)

TTL_COMMANDS = frozenset({"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"})
EXPIRE_COMMANDS = frozenset({"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"})
COMMANDS = TTL_COMMANDS | EXPIRE_COMMANDS | {"PERSIST"}

ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_SYNTAX = "ERR syntax error"


@dataclass(frozen=True, slots=True)
class Result:
    """A command's answer: an error text, or an integer value (and the offset after a
    replicated write)."""

    error: str | None = None
    value: Any = None
    offset: int = 0


def _int(text: str) -> int | None:
    try:
        number = int(text)
    except ValueError:
        return None
    return number if LLONG_MIN <= number <= LLONG_MAX else None


def lookup(dp: Plane, node: Node, key: str) -> str | None:
    """``lookupKeyRead``/``lookupKeyWrite``: the value, None if absent or expired."""
    data = dp.data(node)
    if data.expires and expiry.expire_if_needed(dp, node, key):
        return None
    value: str | None = data.get(key)
    return value


def run(dp: Plane, node: Node, argv: Sequence[str]) -> Result:
    name = argv[0].upper()
    if name in TTL_COMMANDS:
        return _ttl(dp, node, argv[1], name in ("PTTL", "PEXPIRETIME"), "TIME" in name)
    if name == "PERSIST":
        return _persist(dp, node, argv[1])
    return _expire(dp, node, argv)


def _ttl(dp: Plane, node: Node, key: str, output_ms: bool, output_abs: bool) -> Result:
    """``ttlGenericCommand``: -2 no key, -1 no TTL, else what is left (s rounded)."""
    if lookup(dp, node, key) is None:
        return Result(value=-2)
    when = dp.data(node).expires.get(key)
    if when is None:
        return Result(value=-1)
    ttl = max(0, when if output_abs else when - expiry.unix_ms(dp))
    return Result(value=ttl if output_ms else (ttl + 500) // 1000)


def _persist(dp: Plane, node: Node, key: str) -> Result:
    if lookup(dp, node, key) is None or dp.data(node).expires.get(key) is None:
        return Result(value=0)
    offset = dp.write(node, [ExpireOp(key, None)])
    expiry.notify(dp, node, GENERIC, "persist", key)
    return Result(value=1, offset=offset)


def _expire(dp: Plane, node: Node, argv: Sequence[str]) -> Result:
    """``expireGenericCommand`` with ``NX``/``XX``/``GT``/``LT`` (7.0)."""
    name = argv[0].upper()
    flags: set[str] = set()
    for option in argv[3:]:
        word = option.upper()
        if word not in ("NX", "XX", "GT", "LT"):
            return Result(f"ERR Unsupported option {option}")
        flags.add(word)
    if "NX" in flags and flags & {"XX", "GT", "LT"}:
        return Result("ERR NX and XX, GT or LT options at the same time are not compatible")
    if {"GT", "LT"} <= flags:
        return Result("ERR GT and LT options at the same time are not compatible")
    when = _int(argv[2])
    if when is None:
        return Result(ERR_NOT_INTEGER)
    invalid = f"ERR invalid expire time in '{name.lower()}' command"
    if name in ("EXPIRE", "EXPIREAT"):
        if not LLONG_MIN // 1000 <= when <= LLONG_MAX // 1000:
            return Result(invalid)
        when *= 1000
    base = expiry.unix_ms(dp) if name in ("EXPIRE", "PEXPIRE") else 0
    if when > LLONG_MAX - base:
        return Result(invalid)
    when += base
    key = argv[1]
    if lookup(dp, node, key) is None:
        return Result(value=0)
    current = dp.data(node).expires.get(key)
    if (
        ("NX" in flags and current is not None)
        or ("XX" in flags and current is None)
        or ("GT" in flags and (current is None or when <= current))
        or ("LT" in flags and current is not None and when >= current)
    ):
        return Result(value=0)
    if when <= expiry.unix_ms(dp):  # checkAlreadyExpired (a master; replicas refuse writes)
        offset = dp.write(node, [(key, None, dp.next_version())])
        expiry.notify(dp, node, GENERIC, "del", key)
        return Result(value=1, offset=offset)
    offset = dp.write(node, [ExpireOp(key, when)])
    expiry.notify(dp, node, GENERIC, "expire", key)
    return Result(value=1, offset=offset)


def set_expiry(argv: Sequence[str], now_unix_ms: int) -> tuple[str | None, int | None, bool]:
    """``SET key value`` options the data plane models: ``EX``/``PX``/``EXAT``/``PXAT``
    and ``KEEPTTL``. Returns (error, absolute deadline or None, keepttl)."""
    when: int | None = None
    keepttl = False
    j = 3
    while j < len(argv):
        word = argv[j].upper()
        if word == "KEEPTTL" and when is None:
            keepttl = True
        elif word in ("EX", "PX", "EXAT", "PXAT") and when is None and not keepttl:
            if j + 1 >= len(argv):
                return ERR_SYNTAX, None, False
            amount = _int(argv[j + 1])
            if amount is None:
                return ERR_NOT_INTEGER, None, False
            seconds = word in ("EX", "EXAT")
            if amount <= 0 or (seconds and amount > LLONG_MAX // 1000):
                return "ERR invalid expire time in 'set' command", None, False
            if seconds:
                amount *= 1000
            if word in ("EX", "PX"):
                if amount > LLONG_MAX - now_unix_ms:
                    return "ERR invalid expire time in 'set' command", None, False
                amount += now_unix_ms
            when = amount
            j += 1
        else:
            return ERR_SYNTAX, None, False
        j += 1
    return None, when, keepttl


def run_set(dp: Plane, node: Node, argv: Sequence[str]) -> Result:
    """``SET key value [NX|XX] [EX|PX|EXAT|PXAT t | KEEPTTL]`` (``setGenericCommand``):
    the value, then the new deadline, or dropping the old one unless ``KEEPTTL``; with
    ``NX`` (``XX``) nothing happens and the reply is nil when the key exists (does not)."""
    condition = None
    options = [argv[0], argv[1], argv[2]]
    for word in argv[3:]:
        upper = word.upper()
        if upper in ("NX", "XX"):
            if condition not in (None, upper):
                return Result(ERR_SYNTAX)  # parseExtendedStringArgumentsOrReply
            condition = upper
        else:
            options.append(word)
    error, when, keepttl = set_expiry(options, expiry.unix_ms(dp))
    if error is not None:
        return Result(error)
    key, value = argv[1], argv[2]
    data = dp.data(node)
    if condition is not None:
        exists = lookup(dp, node, key) is not None  # lookupKeyWrite (expires if due)
        if exists == (condition == "NX"):
            return Result(value=None)  # nil: the condition failed, nothing written
    elif data.expires:
        expiry.expire_if_needed(dp, node, key)  # setKey's lookupKeyWrite
    ops: list[Any] = [(key, value, dp.next_version())]
    if when is not None:
        ops.append(ExpireOp(key, when))
    elif not keepttl and data.expires.get(key) is not None:
        ops.append(ExpireOp(key, None))  # setKey without KEEPTTL drops the TTL
    offset = dp.write(node, ops)
    expiry.notify(dp, node, STRING, "set", key)
    if when is not None:
        expiry.notify(dp, node, GENERIC, "expire", key)
    return Result(value="OK", offset=offset)
