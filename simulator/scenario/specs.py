"""Value specifications: one object per field type both *parses* a YAML node (with
positions) and *describes* itself as JSON Schema, so the validator and ``rcsim schema``
can never disagree.

``parse`` returns the converted value, or :data:`INVALID` after recording an error in
the :class:`Ctx`; callers skip invalid values and carry on, so that every error of a
file is reported in one go.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from simulator.scenario import durations
from simulator.scenario.errors import Loc, Problems, describe_names, did_you_mean
from simulator.slots import CLUSTER_SLOTS, parse_slot_ranges

INVALID: Any = object()
"""Marker for a value that failed to parse (its error is already recorded)."""

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$"
SLOTS_PATTERN = r"^\s*[0-9]+(\s*-\s*[0-9]+)?([\s,]+[0-9]+(\s*-\s*[0-9]+)?)*\s*$"

_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_constructor = yaml.constructor.SafeConstructor()


def loc_of(node: yaml.Node, file: str) -> Loc:
    """The 1-based position where ``node`` starts."""
    return Loc(file, node.start_mark.line + 1, node.start_mark.column + 1)


@dataclass
class Ctx:
    """Parsing state: the file's errors and the names known at this point of the file."""

    problems: Problems
    nodes: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    subscribers: list[str] = field(default_factory=list)
    cluster: Any = None  # the parsed ClusterSpec, once known (the steps check against it)
    _cache_key: tuple[str, int, int, int] = ("", -1, -1, -1)
    _cache: frozenset[str] = frozenset()
    # kinds of names not checked, because the part of the file defining them is broken
    # (an invalid cluster would otherwise make every later node name an error too)
    unchecked: set[str] = field(default_factory=set)
    # the file has live injections: the steps cannot predict the slot map
    injected: bool = False

    @property
    def file(self) -> str:
        return self.problems.file

    def loc(self, node: yaml.Node) -> Loc:
        return loc_of(node, self.file)

    def error(self, where: yaml.Node | Loc, message: str) -> Any:
        """Record an error and return :data:`INVALID` (so ``return ctx.error(...)`` reads well)."""
        self.problems.add(where if isinstance(where, Loc) else self.loc(where), message)
        return INVALID

    def endpoints(self) -> list[str]:
        return self.nodes + [c for c in self.clients + self.subscribers if c not in self.nodes]

    def names(self, what: str) -> list[str]:
        """The known names of one kind: node, client, subscriber, or endpoint (any)."""
        if what == "node":
            return self.nodes
        if what == "client":
            return self.clients
        if what == "subscriber":
            return self.subscribers
        return self.endpoints()

    def knows(self, what: str, name: str) -> bool:
        """Whether ``name`` is known, in O(1) (sets cached until a name is added)."""
        key = (what, len(self.nodes), len(self.clients), len(self.subscribers))
        if self._cache_key != key:
            self._cache_key = key
            self._cache = frozenset(self.names(what))
        return name in self._cache


def kind_of(node: yaml.Node) -> str:
    """``a mapping``, ``a list``, ``a string``… for error messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _STR:
        return f"the string {node.value!r}" if len(node.value) <= 40 else "a long string"
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return "nothing (null)"
    return (
        f"{'an' if tag[0] in 'aeiou' else 'a'} {tag} ({node.value})"
        if tag
        in (
            "int",
            "float",
            "bool",
            "timestamp",
        )
        else f"a value tagged {node.tag}"
    )


def scalar(node: yaml.Node, ctx: Ctx, expected: str) -> Any:
    """The Python value of a scalar node (str, int, float, bool or None), else INVALID."""
    if not isinstance(node, yaml.ScalarNode):
        return ctx.error(node, f"expected {expected}, got {kind_of(node)}")
    if node.tag == "tag:yaml.org,2002:merge":
        return ctx.error(node, "YAML merge keys (<<) are not supported")
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        return ctx.error(node, f"YAML tags like '{tag}' are not supported")
    try:
        value = _constructor.construct_object(node)
    except (ValueError, yaml.YAMLError):
        return ctx.error(node, f"expected {expected}, got a value too large to read")
    if isinstance(value, datetime.date):
        return ctx.error(node, f"expected {expected}, got a date ({node.value})")
    if isinstance(value, float) and not math.isfinite(value):
        return ctx.error(node, f"expected {expected}, got {node.value}")
    return value


class Spec:
    """A field type: parses a YAML node and describes itself as JSON Schema."""

    expected = "a value"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    # which YAML node classes this spec accepts (for Union dispatch)
    accepts: tuple[type, ...] = (yaml.ScalarNode,)


class Str(Spec):
    """A non-empty string (YAML numbers are not silently turned into text)."""

    def __init__(self, max_len: int = 10_000, allow_numbers: bool = False) -> None:
        self.max_len = max_len
        self.allow_numbers = allow_numbers
        self.expected = "a string" if not allow_numbers else "a string or number"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if self.allow_numbers and isinstance(value, int | float) and not isinstance(value, bool):
            value = node.value
        if not isinstance(value, str):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if not value.strip():
            return ctx.error(node, "expected a non-empty string")
        if len(value) > self.max_len:
            return ctx.error(node, f"text longer than {self.max_len} characters")
        return value

    def schema(self) -> dict[str, Any]:
        if self.allow_numbers:
            return {"type": ["string", "number"], "minLength": 1}
        return {"type": "string", "minLength": 1, "maxLength": self.max_len}


class Name(Str):
    """A new name for a node or a client: letters, digits, ``_ . : -``."""

    def __init__(self) -> None:
        super().__init__(max_len=64)
        self.expected = "a name"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = super().parse(node, ctx)
        if value is INVALID:
            return value
        if not re.match(NAME_PATTERN, value):
            return ctx.error(
                node, f"bad name {value!r}: use letters, digits, '_', '.', ':' or '-' (at most 64)"
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": NAME_PATTERN}


class Ref(Spec):
    """A name that must already be known at this point: a node, client, endpoint, subscriber."""

    def __init__(self, what: str = "node", allow_all: bool = False) -> None:
        self.what = what
        self.allow_all = allow_all
        self.expected = f"a {what} name" + (" or 'all'" if allow_all else "")

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if not isinstance(value, str):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if self.allow_all and value == "all":
            return value
        skip = ctx.unchecked
        if self.what in skip or (self.what == "endpoint" and skip & {"node", "client"}):
            return value
        if not ctx.knows(self.what, value):
            known = ctx.names(self.what)
            what = "node or client" if self.what == "endpoint" else self.what
            hint = did_you_mean(value, known)
            listing = hint or f" (known: {describe_names(known)})"
            return ctx.error(node, f"unknown {what} '{value}'{listing}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": NAME_PATTERN}


class Int(Spec):
    """An integer within bounds (booleans and floats are refused)."""

    def __init__(
        self, minimum: int = 0, maximum: int = 2**63 - 1, what: str = "an integer"
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.expected = what

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if value < self.minimum:
            return ctx.error(
                node, f"expected {self.expected} of at least {self.minimum}, got {value}"
            )
        if value > self.maximum:
            shown = value if len(str(value)) <= 20 else "a huge number"
            return ctx.error(
                node, f"expected {self.expected} of at most {self.maximum}, got {shown}"
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class Number(Spec):
    """A finite number within bounds; ``Number(0, 1)`` is a probability."""

    def __init__(self, minimum: float = 0.0, maximum: float = 1e18, what: str = "a number") -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.expected = what

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if not self.minimum <= value <= self.maximum:
            return ctx.error(
                node,
                f"expected {self.expected} from {self.minimum:g} to {self.maximum:g}, "
                f"got {node.value}",
            )
        return float(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum}


class Bool(Spec):
    expected = "true or false"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if not isinstance(value, bool):
            return ctx.error(node, f"expected true or false, got {kind_of(node)}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Literal(Spec):
    """One of a few fixed scalar values, e.g. ``fix: true`` or ``heal: all``."""

    def __init__(self, *values: Any) -> None:
        self.values = values
        self.expected = " or ".join(_show(v) for v in values)

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if any(value == v and type(value) is type(v) for v in self.values):
            return value
        return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


def _show(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


class Enum(Spec):
    """One word out of a fixed list; a typo gets the nearest word suggested."""

    def __init__(self, *choices: str, what: str = "value") -> None:
        self.choices = choices
        self.what = what
        self.expected = "one of " + ", ".join(choices)

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if isinstance(value, bool) or value is None or not isinstance(value, str):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if value not in self.choices:
            hint = did_you_mean(value, self.choices)
            return ctx.error(
                node, f"unknown {self.what} '{value}'{hint or f' (expected {self.expected})'}"
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


class _Converted(Spec):
    """A scalar turned into a value by a ``durations`` parser; its ``ValueError`` is the message."""

    rejected: tuple[type, ...] = (bool,)  # scalar types that are never valid (None always is not)

    def convert(self, value: Any) -> Any:
        raise NotImplementedError

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if value is None or isinstance(value, self.rejected):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        try:
            return self.check(self.convert(value), value, node, ctx)
        except ValueError as error:
            return ctx.error(node, str(error))

    def check(self, converted: Any, value: Any, node: yaml.Node, ctx: Ctx) -> Any:
        """Further range checks on the converted value (none by default)."""
        return converted


class Duration(_Converted):
    """``250ms``, ``2s``, ``1.5m``; plain integers are milliseconds. Parses to int ms."""

    expected = "a duration like 250ms or 2s"

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def convert(self, value: Any) -> Any:
        return durations.parse_duration(value)

    def check(self, converted: Any, value: Any, node: yaml.Node, ctx: Ctx) -> Any:
        if converted < self.minimum:
            return ctx.error(
                node, f"must be at least {durations.format_duration(self.minimum)}, got {value}"
            )
        return converted

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "pattern": durations.DURATION_PATTERN},
                {"type": "integer", "minimum": self.minimum, "maximum": durations.MAX_DURATION_MS},
            ]
        }


class Rate(_Converted):
    """``200/s`` (also ``/m``, ``/h``); plain numbers are per second. Parses to float per s."""

    expected = "a rate like 200/s"

    def convert(self, value: Any) -> Any:
        return durations.parse_rate(value)

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "pattern": durations.RATE_PATTERN},
                {"type": "number", "minimum": 0, "maximum": durations.MAX_RATE},
            ]
        }


class Latency(_Converted):
    """``0.1ms..0.5ms`` (seeded uniform) or one fixed duration; parses to (low, high) ms."""

    expected = "a latency like 1ms or 0.1ms..0.5ms"
    rejected = (bool, float)

    def convert(self, value: Any) -> Any:
        return durations.parse_latency(value)

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "pattern": durations.LATENCY_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": durations.MAX_DURATION_MS},
            ]
        }


class Slots(Spec):
    """Redis slot notation ``"0-5460 5462"`` or one slot number; parses to a sorted tuple."""

    expected = 'slots like "0-5460 5462"'

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if value is None or isinstance(value, bool | float):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if isinstance(value, int) and not 0 <= value < CLUSTER_SLOTS:
            return ctx.error(node, f"slot out of range 0-16383: {node.value}")
        try:
            slots = parse_slot_ranges(
                re.sub(r"\s*-\s*", "-", value) if isinstance(value, str) else value
            )
        except ValueError as error:
            return ctx.error(node, str(error))
        if not slots:
            return ctx.error(node, f"expected {self.expected}, got an empty string")
        return tuple(slots)

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "pattern": SLOTS_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": CLUSTER_SLOTS - 1},
            ]
        }
