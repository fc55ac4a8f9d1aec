"""The JSON Schema (draft 2020-12) of the scenario format, generated from the very
spec objects the validator parses with (:mod:`.tables`, :mod:`.validate`).

The schema checks shapes, types and words; cross-references (unknown node names), one
action per step and the timeline are checked only by ``rcsim validate``.
"""

from __future__ import annotations

import json
from typing import Any

from simulator.scenario.tables import CONDITIONS
from simulator.scenario.validate import TOP, StepSpec

SCHEMA_ID = "urn:rcsim:scenario"


def scenario_schema() -> dict[str, Any]:
    """The schema as a dict."""
    condition_properties = {
        key: {"description": d.doc, **d.spec.schema()} for key, d in CONDITIONS.items()
    }
    condition = {
        "type": "object",
        "description": "one or more conditions; all must hold",
        "properties": condition_properties,
        "additionalProperties": False,
        "minProperties": 1,
    }
    top = TOP.schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "rcsim scenario",
        "description": (
            "A Redis Cluster scenario for rcsim (docs/scenario-format.md). "
            "`rcsim validate` checks more than this schema: node names, one action per step, times."
        ),
        **top,
        "$defs": {
            "step": StepSpec().schema(),
            "condition": condition,
            "conditions": {
                "anyOf": [
                    {"$ref": "#/$defs/condition"},
                    {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}},
                ]
            },
        },
    }


def schema_text() -> str:
    """The schema as the text ``rcsim schema`` prints and docs/scenario.schema.json holds."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
