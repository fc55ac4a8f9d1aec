"""The trace-kind registry is the one vocabulary: the docs and every emitted event match it."""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path

import pytest

from simulator.trace import ROUTINE_KINDS, is_notable
from simulator.trace_kinds import KINDS, LOGGED, NOTABLE, ROUTINE
from tests.shared_runs import ALL_LESSONS_SEED, group, lesson_run
from tui import words

DOCS = Path(__file__).resolve().parent.parent / "docs"
ROW = re.compile(r"^\| `([a-z_]+)` \|(.*)$", re.MULTILINE)


@cache
def documented() -> dict[str, str]:
    """Each kind's table row (the rest of the line) in docs/trace.md and docs/data-plane.md."""
    rows: dict[str, str] = {}
    for name in ("trace.md", "data-plane.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        if name == "trace.md":
            # after the fields every event has, before the tiers of the registry
            section = text[text.index("\n## ") : text.index("\n## The registry")]
        else:
            section = text[text.index("## Trace events added") :]
            section = section[: section.index("\n## ", 1)]
        for match in ROW.finditer(section):
            rows.setdefault(match.group(1), match.group(2))
    return rows


@cache
def emitted() -> dict[str, set[frozenset[str]]]:
    """Every kind and key set the bundled lessons emit (seed 1)."""
    from simulator.scenario.bundled import bundled_names

    seen: dict[str, set[frozenset[str]]] = {}
    for name in bundled_names():
        for event in lesson_run(name, ALL_LESSONS_SEED).events():
            keys = frozenset(event) - {"t", "kind"}
            seen.setdefault(event["kind"], set()).add(keys)
    return seen


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_registered_kind_is_documented_with_its_fields(name: str) -> None:
    row = documented().get(name)
    assert row is not None, f"docs/trace.md (or data-plane.md) has no row for `{name}`"
    for field in KINDS[name].fields:
        assert re.search(f"`{field}[`:]", row), f"`{name}`: field `{field}` is not documented"


def test_every_documented_kind_is_registered() -> None:
    assert sorted(set(documented()) - set(KINDS)) == []


@pytest.mark.xdist_group(group(seed=ALL_LESSONS_SEED))
def test_every_emitted_kind_and_field_is_registered() -> None:
    for kind, key_sets in sorted(emitted().items()):
        assert kind in KINDS, f"unregistered kind emitted: {kind}"
        for keys in key_sets:
            extra = sorted(keys - KINDS[kind].keys)
            assert extra == [], f"{kind}: unregistered fields {extra}"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_sentence_templates_name_only_the_kinds_fields(name: str) -> None:
    registered = KINDS[name]
    placeholders = {f for _, f, _, _ in string.Formatter().parse(registered.words) if f}
    assert placeholders <= registered.keys | {"node", "target"}


def test_the_tiers_nest_and_the_consumers_read_them() -> None:
    assert NOTABLE <= LOGGED
    assert not LOGGED & ROUTINE
    assert ROUTINE_KINDS == ROUTINE
    assert words.LOGGED == LOGGED
    from simulator.harness.report import NOTABLE as timeline

    assert timeline == NOTABLE
    for name in KINDS:
        assert is_notable({"t": 0, "kind": name}) == (name not in ROUTINE)


def test_log_sentences_read_the_registry() -> None:
    event = {"t": 0, "kind": "pfail", "node": "n2", "target": "n1", "delay_ms": 1500}
    assert words.describe(event) == "n2 suspects n1 (PFAIL: no pong for 1500 ms)"
    assert words.level({"t": 0, "kind": "promoted"}) == "good"
