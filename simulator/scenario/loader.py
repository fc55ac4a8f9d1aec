"""Reading a scenario: text → YAML nodes with positions (safe loader, no aliases) →
validated :class:`~simulator.scenario.model.Scenario`, or a :class:`ScenarioError`
listing every problem as ``file:line:col: message``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from simulator.scenario.bundled import MAX_BYTES, resolve
from simulator.scenario.errors import Loc, Problems, ScenarioError
from simulator.scenario.model import Scenario
from simulator.scenario.specs import Ctx
from simulator.scenario.validate import build_scenario


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases: no billion-laughs expansion, and a
    scenario that reads the same from top to bottom."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not allowed in scenarios; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _char(character: int | str) -> str:
    code = character if isinstance(character, int) else ord(character[:1] or "\0")
    return f"U+{code:04X}"


def _line_col(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1


def _shares_nodes(root: yaml.Node) -> bool:
    """Whether some node is reachable twice (an alias), found without expanding anything."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return False


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (one document), or a ScenarioError with the position.

    libyaml (when PyYAML has it) composes about 20 times faster; any problem, and any
    alias, sends the text through the pure-Python composer, whose messages are the ones
    reported, so messages do not depend on how PyYAML was built.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            root = yaml.compose(text, Loader=fast)
        except (yaml.YAMLError, RecursionError, ValueError):
            pass
        else:
            if root is None or not _shares_nodes(root):
                return root
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = error.problem or "cannot be read"
        if "aliases" in problem:
            message = problem
        elif "another document" in problem:
            message = "a scenario file holds one YAML document; remove this '---' and what follows"
        else:
            context = f" ({error.context})" if error.context else ""
            message = f"invalid YAML: {problem}{context}"
        raise ScenarioError([f"{source}:{line}:{col}: {message}"]) from None
    except yaml.reader.ReaderError as error:
        line, col = _line_col(text, error.position)
        raise ScenarioError(
            [
                f"{source}:{line}:{col}: invalid YAML: control character {_char(error.character)} "
                "is not allowed"
            ]
        ) from None
    except RecursionError:
        raise ScenarioError([f"{source}:1:1: the YAML is nested too deeply"]) from None


def parse_scenario(text: str, source: str = "<scenario>", sha256: str | None = None) -> Scenario:
    """Validate scenario ``text``; ``source`` names it in messages."""
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if len(text) > MAX_BYTES:
        raise ScenarioError([f"{source}:1:1: file larger than {MAX_BYTES // 1024} KiB"])
    root = compose(text, source)
    ctx = Ctx(Problems(source))
    try:
        scenario = build_scenario(root, ctx, source, sha256)
    except RecursionError:
        ctx.error(Loc(source, 1, 1), "the YAML is nested too deeply")
        scenario = None
    if ctx.problems or scenario is None:
        raise ScenarioError(ctx.problems.lines() or [f"{source}:1:1: invalid scenario"])
    return scenario


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load and validate a scenario file, or a bundled scenario by name ("master-crash").

    Raises :class:`ScenarioError` with every problem, one ``file:line:col: message`` each.
    """
    source, text, sha256 = resolve(str(path_or_name))
    return parse_scenario(text, source, sha256)
