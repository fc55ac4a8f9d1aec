"""No input makes the loader fail other than with a ScenarioError of positioned lines."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rcsim.cli import main
from simulator.scenario import ScenarioError, parse_scenario
from simulator.scenario.bundled import resolve

LINE = re.compile(r"^[^\n]+:\d+:\d+: \S[^\n]*$")
VALID = "name: t\ncluster:\n  masters: 3\n  replicas: 1\nsteps:\n  - at: 2s\n    kill: n1\n"

# Pieces of scenario syntax, so that random texts often get past the YAML parser.
PIECES = [
    "name: t\n",
    "cluster:\n",
    "  masters: 3\n",
    "  replicas: 1\n",
    "  nodes:\n",
    "    - {name: a, slots: 0-100}\n",
    "steps:\n",
    "  - at: 2s\n",
    "    kill: n1\n",
    "  - wait_for: {promoted: n4}\n",
    "    timeout: 1s\n",
    "expect:\n",
    "  - cluster_state: ok\n",
    "  - reshard: {from: n1, to: n2, slots: 9}\n",
    "  - add-node: {}\n",
    "run_until: 1s\n",
    "  - partition: [[n1], [n2]]\n",
    "clients:\n",
    "  - name: app\n",
    "    rate: 1/s\n",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "&a ",
    "*a ",
    "!t ",
    "\t",
    "\x00",
    "'",
    '"',
    "  ",
    "\n",
]


def check_error(error: ScenarioError) -> None:
    assert error.errors
    for line in error.errors:
        assert LINE.match(line), line


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25))
def test_scenario_like_texts_are_accepted_or_refused_cleanly(pieces: list[str]) -> None:
    try:
        parse_scenario("".join(pieces), "f.yaml")
    except ScenarioError as error:
        check_error(error)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_cleanly(text: str) -> None:
    try:
        parse_scenario(text, "f.yaml")
    except ScenarioError as error:
        check_error(error)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.text(min_size=1, max_size=3))
def test_a_damaged_valid_file_is_refused_cleanly(position: int, insert: str) -> None:
    try:
        parse_scenario(VALID[:position] + insert + VALID[position:], "f.yaml")
    except ScenarioError as error:
        check_error(error)


def test_alias_bomb_is_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
    )
    try:
        parse_scenario(bomb, "bomb.yaml")
    except ScenarioError as error:
        assert error.errors == [
            "bomb.yaml:2:8: aliases (*a) are not allowed in scenarios; write the value out"
        ]
    else:
        raise AssertionError("an alias bomb was accepted")


def test_huge_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("name: t\n" + "#" * (2 << 20) + "\n")
    try:
        resolve(str(big))
    except ScenarioError as error:
        assert error.errors == [f"{big}:1:1: file larger than 1024 KiB"]
    else:
        raise AssertionError("a 2 MiB file was accepted")


def test_unreadable_file_name_is_an_error_not_a_traceback() -> None:
    assert main(["validate", "bad\x00name.yaml"]) == 2
