"""docs/redis-rules.md is the reference every section citation points into.

Code, docs, scenarios and tests cite Redis rules by section number (a section sign
followed by ``N`` or ``N.M``). A citation that names no heading of docs/redis-rules.md
points nowhere in a fresh clone, so these tests fail on it; and a section that names no
existing rcsim module tells a reader nothing about where the rule lives.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "redis-rules.md"

CITING_DIRS = ("simulator", "tui", "rcsim", "docs", "tests", "scenarios")
CITING_FILES = ("README.md",)
TEXT_SUFFIXES = frozenset({".py", ".md", ".yaml", ".yml", ".json", ".svg", ".tcss", ".txt"})

SECTION_SIGN = "\u00a7"  # spelled out so this file cites nothing itself
CITATION = re.compile(SECTION_SIGN + r"\s?(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^(#{2,3})\s+(\d+)(?:\.(\d+))?[.\s]")
MODULE = re.compile(r"`((?:simulator|tui|rcsim)(?:/[\w.]+)*)`")
RCSIM_LINE = "**rcsim:**"
SECTIONS = 28  # the reference's top-level sections, 1..28


def _text_files() -> list[Path]:
    """Every text file that may cite a section, in a stable order."""
    files = [ROOT / name for name in CITING_FILES]
    for top in CITING_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                files.append(path)
    return files


def citations() -> dict[str, list[str]]:
    """Section number -> the places (``file:line``) that cite it."""
    found: dict[str, list[str]] = {}
    for path in _text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            for match in CITATION.finditer(line):
                where = f"{path.relative_to(ROOT)}:{lineno}"
                found.setdefault(match.group(1), []).append(where)
    return found


def sections() -> dict[str, list[str]]:
    """Section number -> the lines of its body, for every ``## N.`` / ``### N.M`` heading."""
    body: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in RULES.read_text(encoding="utf-8").splitlines():
        match = HEADING.match(line)
        if match:
            level, major, minor = match.groups()
            if (level == "##") != (minor is None):
                raise AssertionError(
                    f"top-level sections are '## N.', subsections '### N.M': {line}"
                )
            number = major if minor is None else f"{major}.{minor}"
            if number in body:
                raise AssertionError(f"section {number} is defined twice")
            current = body[number] = []
        elif line.startswith("#"):
            current = None
        elif current is not None:
            current.append(line)
    return body


def unresolved(cited: dict[str, list[str]], defined: dict[str, list[str]]) -> list[str]:
    """The citations that name no section, as readable lines."""
    return [
        f"{number} cited at {', '.join(places)}"
        for number, places in sorted(cited.items())
        if number not in defined
    ]


def _module_exists(path: str) -> bool:
    """``simulator/node`` may be a module (``node.py``) or a package (``node/``)."""
    base = ROOT / path
    return base.exists() or base.with_name(base.name + ".py").exists()


def test_every_citation_resolves_to_a_section() -> None:
    cited = citations()
    assert cited, "no citation found: the scan is broken"
    missing = unresolved(cited, sections())
    assert not missing, "citations without a section in docs/redis-rules.md:\n" + "\n".join(missing)


def test_an_unknown_citation_is_reported() -> None:
    """The check itself: a number with no heading is caught."""
    cited = {"99.9": ["somewhere.py:1"], "8.3": ["node.py:1"]}
    assert unresolved(cited, sections()) == ["99.9 cited at somewhere.py:1"]


def test_all_reference_sections_are_present_in_order() -> None:
    numbers = list(sections())
    top = [int(n) for n in numbers if "." not in n]
    assert top == list(range(1, SECTIONS + 1))
    keys = [tuple(int(part) for part in n.split(".")) for n in numbers]
    assert keys == sorted(keys), "sections are out of order"
    for number in numbers:
        if "." in number:
            assert number.split(".")[0] in numbers, f"subsection {number} has no parent"


def test_every_section_names_existing_rcsim_modules() -> None:
    problems = []
    for number, lines in sections().items():
        rcsim = [line for line in lines if line.startswith(RCSIM_LINE)]
        if len(rcsim) != 1:
            problems.append(f"{number}: expected one '{RCSIM_LINE}' line, found {len(rcsim)}")
            continue
        # the field may wrap onto following lines, up to a blank line
        start = lines.index(rcsim[0])
        field = []
        for line in lines[start:]:
            if not line.strip():
                break
            field.append(line)
        modules = MODULE.findall(" ".join(field))
        if not modules:
            problems.append(f"{number}: the rcsim line names no module")
        problems += [f"{number}: no such module {m}" for m in modules if not _module_exists(m)]
    assert not problems, "\n".join(problems)
