"""The tables that define the format: every action and condition, with its YAML key,
its dataclass, the spec of its value and one line of help (an action's help is its doc
in the action registry, :mod:`simulator.actions`).

The validator (:mod:`simulator.scenario.validate`) and the JSON Schema generator
(:mod:`simulator.scenario.schema`) both read these tables, and nothing else. They live
in :mod:`.action_table` and :mod:`.condition_table`; this module gathers them.
"""

from __future__ import annotations

from simulator.scenario.action_table import ACTIONS, ActionDef
from simulator.scenario.condition_table import CONDITIONS, FLAGS, ConditionDef, Conditions
from simulator.scenario.fields import MAX_TEXT, directive_fields, split_directives
from simulator.scenario.records import Finish, build

__all__ = [
    "ACTIONS",
    "CONDITIONS",
    "FLAGS",
    "MAX_TEXT",
    "ActionDef",
    "ConditionDef",
    "Conditions",
    "Finish",
    "build",
    "directive_fields",
    "split_directives",
]
