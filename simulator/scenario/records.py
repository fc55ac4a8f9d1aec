"""Composite value specifications: lists, maps, records (mappings with named fields),
alternatives, and :func:`build`, which turns a parsed record into a model dataclass.

The scalar specs they are made of are in :mod:`simulator.scenario.specs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from simulator.scenario import model
from simulator.scenario.errors import Loc, did_you_mean
from simulator.scenario.specs import _STR, INVALID, Ctx, Ref, Spec, kind_of, scalar


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


Finish = Callable[[dict[str, Any], Parsed, Ctx], "dict[str, Any] | None"]
"""A record's post-step: checks across fields; returns the final values (None: invalid)."""


def build(
    cls: type[model.Located],
    spec: Spec,
    finish: Finish | None,
    key_node: yaml.Node,
    value_node: yaml.Node,
    ctx: Ctx,
) -> model.Located | None:
    """Parse one action or condition value and build its dataclass (None if invalid)."""
    parsed = spec.parse(value_node, ctx)
    if parsed is INVALID:
        return None
    assert isinstance(parsed, Parsed)
    values = dict(parsed.values)
    if any(v is INVALID for k, v in values.items() if not k.startswith("directive:")):
        return None
    if finish is not None:
        done = finish(values, parsed, ctx)
        if done is None:
            return None
        values = done
    return cls(loc=ctx.loc(key_node), locs=dict(parsed.locs), **values)


class RecordOf(Spec):
    """A mapping parsed by ``record`` and built into ``build(loc=, locs=, **values)``
    (a model dataclass such as :class:`model.NetworkSpec`): the one place a record
    with no cross-field rule becomes its model object; INVALID if any field was."""

    accepts: tuple[type, ...] = (yaml.MappingNode,)

    def __init__(self, record: Record, build: Callable[..., Any]) -> None:
        self.record = record
        self.build = build
        self.expected = f"a mapping ({record.what})"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        parsed = self.record.parse(node, ctx)
        if parsed is INVALID or any(v is INVALID for v in parsed.values.values()):
            return INVALID
        return self.build(loc=parsed.loc, locs=parsed.locs, **parsed.values)

    def schema(self) -> dict[str, Any]:
        return self.record.schema()
