"""Field specs the action and condition tables share: a node reference, free text, and
one field per Redis directive (``set-config`` and a node's ``config``).
"""

from __future__ import annotations

from typing import Any

import yaml

from simulator.config import DIRECTIVES, ConfigError, coerce
from simulator.scenario.records import Field
from simulator.scenario.specs import INVALID, Ctx, Ref, Spec, Str, scalar

MAX_TEXT = 10_000

NODE = Ref("node")
TEXT = Str(max_len=MAX_TEXT, allow_numbers=True)


class DirectiveValue(Spec):
    """A value for one Redis directive, checked by :func:`simulator.config.coerce`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.directive = DIRECTIVES[name]
        self.expected = f"a value for {name}"

    def parse(self, node: yaml.Node, ctx: Ctx) -> Any:
        value = scalar(node, ctx, self.expected)
        if value is INVALID:
            return value
        if self.directive.kind == "save" and value is None:
            value = ""
        if isinstance(value, float):
            return ctx.error(node, f"{self.name} takes an integer, got {node.value}")
        try:
            return coerce(self.name, value)
        except ConfigError as error:
            return ctx.error(node, str(error))

    def schema(self) -> dict[str, Any]:
        d = self.directive
        if d.kind == "int":
            return {
                "anyOf": [
                    {"type": "integer", "minimum": d.minimum, "maximum": d.maximum},
                    {"type": "string", "pattern": r"^-?[0-9]+$"},
                ]
            }
        if d.kind == "bytes":
            return {
                "anyOf": [
                    {"type": "integer", "minimum": d.minimum, "maximum": d.maximum},
                    {"type": "string", "pattern": r"^\s*[0-9]+([kKmMgG][bB]?|[bB])?\s*$"},
                ]
            }
        if d.kind == "bool":
            return {"anyOf": [{"type": "boolean"}, {"enum": ["yes", "no"]}]}
        if d.kind == "enum":
            return {"enum": list(d.choices)}
        return {"type": ["string", "null"]}


def directive_fields() -> list[Field]:
    return [
        Field(name, DirectiveValue(name), d.help, attr=f"directive:{name}")
        for name, d in DIRECTIVES.items()
    ]


def split_directives(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate ``directive:NAME`` attributes (set) from the others."""
    plain = {k: v for k, v in values.items() if not k.startswith("directive:")}
    config = {
        k.removeprefix("directive:"): v
        for k, v in values.items()
        if k.startswith("directive:") and v is not None and v is not INVALID
    }
    return plain, config
