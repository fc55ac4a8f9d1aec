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
from collections.abc import Callable, Mapping
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


class ListOf(Spec):
    """A YAML list of one spec; parses to a tuple (invalid items dropped)."""

    accepts: tuple[type, ...] = (yaml.SequenceNode,)

    def __init__(
        self, item: Spec, min_items: int = 0, max_items: int = 100_000, what: str = ""
    ) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.expected = what or f"a list of {item.expected.removeprefix('a ').removeprefix('an ')}s"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.SequenceNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if len(node.value) < self.min_items:
            many = "item" if self.min_items == 1 else "items"
            return ctx.error(
                node, f"expected {self.expected} with at least {self.min_items} {many}"
            )
        if len(node.value) > self.max_items:
            return ctx.error(
                node, f"at most {self.max_items} items are allowed here, got {len(node.value)}"
            )
        items = [self.item.parse(child, ctx) for child in node.value]
        return tuple(item for item in items if item is not INVALID)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            out["minItems"] = self.min_items
        return out


class Names(ListOf):
    """A list of known names, or a single name; parses to a tuple of distinct names."""

    accepts: tuple[type, ...] = (yaml.SequenceNode, yaml.ScalarNode)

    def __init__(self, item: Ref) -> None:
        super().__init__(item, min_items=1, what=f"a list of {item.what} names")

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if isinstance(node, yaml.ScalarNode):
            one = self.item.parse(node, ctx)
            return INVALID if one is INVALID else (one,)
        names = super().parse(node, ctx)
        if names is INVALID:
            return names
        seen: set[str] = set()
        for child in node.value:
            value = child.value if isinstance(child, yaml.ScalarNode) else None
            if value in seen:
                ctx.error(child, f"'{value}' is named twice in this list")
            if isinstance(value, str):
                seen.add(value)
        return tuple(dict.fromkeys(names))

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [self.item.schema(), super().schema()]}


class MapOf(Spec):
    """A mapping from one spec's keys to another's values; parses to a dict."""

    accepts: tuple[type, ...] = (yaml.MappingNode,)

    def __init__(self, key: Spec, value: Spec, what: str = "a mapping") -> None:
        self.key = key
        self.value = value
        self.expected = what

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        if not node.value:
            return ctx.error(node, f"expected {self.expected}, got an empty mapping")
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key.parse(key_node, ctx)
            value = self.value.parse(value_node, ctx)
            if key is INVALID or value is INVALID:
                continue
            if key in out:
                ctx.error(key_node, f"duplicate key '{key}'")
                continue
            out[key] = value
        return out

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "minProperties": 1,
            "propertyNames": self.key.schema(),
            "additionalProperties": self.value.schema(),
        }


@dataclass(frozen=True)
class Field:
    """One key of a record: its YAML key, attribute name, type, default and help text."""

    key: str
    spec: Spec
    doc: str = ""
    required: bool = False
    default: Any = None
    attr: str = ""

    @property
    def name(self) -> str:
        return self.attr or self.key.replace("-", "_")


@dataclass
class Parsed:
    """A parsed record: attribute values and the position of each."""

    values: dict[str, Any]
    locs: dict[str, Loc]
    loc: Loc
    node: yaml.Node


class Record(Spec):
    """A mapping with known keys; unknown keys are errors with a suggestion.

    Fields are parsed in *definition* order (not file order), so a record's earlier
    fields can set up context (the cluster's node names) for later ones (the steps).
    ``one_of`` lists groups of keys of which exactly one must be present; ``any_of``
    groups of which at least one must be. ``extra`` parses keys not in ``fields``
    (``set-config`` directives, trace-event fields) into ``extra_attr``.
    """

    accepts: tuple[type, ...] = (yaml.MappingNode,)

    def __init__(
        self,
        what: str,
        fields: list[Field],
        one_of: tuple[tuple[str, ...], ...] = (),
        any_of: tuple[tuple[str, ...], ...] = (),
        extra: Callable[[str, yaml.Node, yaml.Node, Ctx], Any] | None = None,
        extra_attr: str = "",
        extra_schema: Mapping[str, Any] | None = None,
        extra_names: tuple[str, ...] = (),
    ) -> None:
        self.what = what
        self.fields = fields
        self.one_of = one_of
        self.any_of = any_of
        self.extra = extra
        self.extra_attr = extra_attr
        self.extra_schema = extra_schema
        self.extra_names = extra_names
        self.expected = f"a mapping ({what})"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")
        return self.parse_pairs(node, ctx)

    def parse_pairs(self, node: yaml.MappingNode, ctx: Ctx) -> Parsed:
        by_key = key_nodes(node, ctx)
        known = {f.key for f in self.fields}
        values: dict[str, Any] = {}
        locs: dict[str, Loc] = {}
        extras: dict[str, Any] = {}
        for key, (key_node, value_node) in by_key.items():
            if key not in known:
                if self.extra is not None:
                    parsed = self.extra(key, key_node, value_node, ctx)
                    if parsed is not INVALID:
                        extras[key] = parsed
                        locs[key] = ctx.loc(value_node)
                    continue
                choices = [f.key for f in self.fields] + list(self.extra_names)
                ctx.error(
                    key_node, f"unknown key '{key}' in {self.what}{did_you_mean(key, choices)}"
                )
        for f in self.fields:
            if f.key in by_key:
                key_node, value_node = by_key[f.key]
                value = f.spec.parse(value_node, ctx)
                locs[f.name] = ctx.loc(value_node)
                values[f.name] = value
            elif f.required:
                ctx.error(node, f"missing required key '{f.key}' in {self.what}")
                values[f.name] = INVALID
            else:
                values[f.name] = f.default
        for group in self.one_of:
            present = [k for k in group if k in by_key]
            if len(present) > 1:
                second = by_key[present[1]][0]
                ctx.error(
                    second, f"use only one of {', '.join(repr(k) for k in group)} in {self.what}"
                )
            elif not present:
                ctx.error(node, f"{self.what} needs one of {', '.join(repr(k) for k in group)}")
        for group in self.any_of:
            if not any(k in by_key for k in group) and not (self.extra and extras):
                ctx.error(
                    node, f"{self.what} needs at least one of {', '.join(repr(k) for k in group)}"
                )
        if self.extra_attr:
            values[self.extra_attr] = extras
        return Parsed(values, locs, ctx.loc(node), node)

    def schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for f in self.fields:
            sub = dict(f.spec.schema())
            if f.doc:
                sub = {"description": f.doc, **sub}
            properties[f.key] = sub
        out: dict[str, Any] = {"type": "object", "properties": properties}
        required = [f.key for f in self.fields if f.required]
        if required:
            out["required"] = required
        out["additionalProperties"] = (
            dict(self.extra_schema) if self.extra_schema is not None else False
        )
        return out


def key_nodes(node: yaml.MappingNode, ctx: Ctx) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The string keys of a mapping (duplicates and non-string keys reported)."""
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
            value = (
                scalar(key_node, ctx, "a key") if isinstance(key_node, yaml.ScalarNode) else None
            )
            if value is not INVALID:
                ctx.error(key_node, f"keys must be words, got {kind_of(key_node)}")
            continue
        if key_node.value in out:
            ctx.error(key_node, f"duplicate key '{key_node.value}'")
            continue
        out[key_node.value] = (key_node, value_node)
    return out


class As(Spec):
    """A short form: the whole value is one attribute, e.g. ``kill: n1`` → ``{node: n1}``.

    ``attr`` empty: the value only switches something on (``fix: true``) and sets nothing;
    ``transform`` maps the parsed value (``heal: all`` → ``groups = None``).
    """

    def __init__(
        self,
        attr: str,
        spec: Spec,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.attr = attr
        self.spec = spec
        self.transform = transform
        self.expected = spec.expected
        self.accepts = spec.accepts

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = self.spec.parse(node, ctx)
        if value is INVALID:
            return value
        loc = ctx.loc(node)
        if not self.attr:
            return Parsed({}, {}, loc, node)
        if self.transform is not None:
            value = self.transform(value)
        return Parsed({self.attr: value}, {self.attr: loc}, loc, node)

    def schema(self) -> dict[str, Any]:
        return self.spec.schema()


class Union(Spec):
    """Alternative forms told apart by YAML node kind (scalar, list or mapping)."""

    def __init__(self, *alternatives: Spec, what: str = "") -> None:
        self.alternatives = alternatives
        self.expected = what or " or ".join(a.expected for a in alternatives)
        self.accepts = tuple(t for a in alternatives for t in a.accepts)

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        for alternative in self.alternatives:
            if isinstance(node, alternative.accepts):
                return alternative.parse(node, ctx)
        return ctx.error(node, f"expected {self.expected}, got {kind_of(node)}")

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [a.schema() for a in self.alternatives]}
