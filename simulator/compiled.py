"""The engine's hot modules compiled with mypyc: an opt-in build, and the loader that uses it.

``make fast`` (``python -m simulator.compiled_build``) compiles :data:`COMPILED` — the
node package, the TCP links, the event kernel and the network — with mypyc, which
ships with mypy (the dev extra: no new dependency), into ``build/fast/`` next to the
sources, never into them. A run uses it only when asked (``RCSIM_COMPILED=1``) and only
when it was built from the current sources: the build records the SHA-256 of every
source it read (the compiled modules and every ``simulator`` module they import,
directly or not, since compiled code bakes in their types); on any difference, or no
build, or another Python, the run prints one line on stderr and stays pure Python. A
stale compiled module never runs silently. The pure-Python tree is the reference: the
golden traces are byte-identical through both (tests/test_compiled.py).

What the compiled build does not honour (docs/benchmarks.md, Round 6): a test's
``monkeypatch`` of a node *method* on the class (compiled callers call the compiled
method directly); class attributes a test sets are honoured only when declared
``ClassVar`` (``CronDeadlines.CRON_AUDIT``).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
import types
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

ENV = "RCSIM_COMPILED"
"""Set to 1 to run the compiled modules (when current); unset, empty or 0: pure Python."""
DIR_ENV = "RCSIM_COMPILED_DIR"
"""Where the build is (default :data:`DEFAULT_DIR`)."""
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "build" / "fast"
GROUP = "rcsim_fast"  # mypyc's shared library: one module, ``rcsim_fast__mypyc``
MANIFEST = "manifest.json"
FORMAT = 1

COMPILED: tuple[str, ...] = (
    # The node, one class per layer (each layer subclasses the one below, so all of
    # them, or none): the gossip, the cron, the heartbeats, the peer views.
    "simulator.node.base",
    "simulator.node.slot_table",
    "simulator.node.manual_failover",
    "simulator.node.bus",
    "simulator.node.failure",
    "simulator.node.slot_config",
    "simulator.node.election",
    "simulator.node.migration",
    "simulator.node.cron_deadlines",
    "simulator.node.cron",
    "simulator.node.gossip",
    "simulator.node.gossip_rules",
    "simulator.node.commands",
    "simulator.node.nodes_conf",
    "simulator.node.links",
    "simulator.node.node",
    "simulator.node.peer",
    "simulator.node.slotmap",
    "simulator.node.constants",
    "simulator.node.host",
    # The sockets, the event kernel, the network's latency and loss.
    "simulator.links.link",
    "simulator.links.net",
    "simulator.links.linux",
    "simulator.engine",
    "simulator.network",
)
"""Modules mypyc compiles. Not ``simulator.messages`` (mypyc refuses its frozen
dataclass's ``object = None`` default, and its named tuples gain nothing), nor
packages' ``__init__``."""

_OFF = ("", "0", "no", "false")


def module_path(name: str) -> Path:
    """The source file of module ``name`` of this tree."""
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imported(name: str) -> set[str]:
    """The ``simulator`` modules (and packages) that module ``name`` imports, anywhere."""
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for candidate in candidates:
            parts = candidate.split(".")
            if parts[0] != "simulator":
                continue
            for depth in range(1, len(parts) + 1):  # the packages on the way count too
                prefix = ".".join(parts[:depth])
                if module_path(prefix).is_file():
                    found.add(prefix)
    return found


def source_closure(modules: Sequence[str] = COMPILED) -> list[str]:
    """Every source file (relative to the tree) the build reads: the compiled modules
    and the ``simulator`` modules they import, transitively, sorted."""
    # Not this loader (simulator/__init__ imports it): compiled code never reads it.
    seen = {__name__}
    todo = ["simulator", *modules]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imported(name) - seen)
    seen.discard(__name__)
    return sorted(str(module_path(name).relative_to(ROOT)) for name in seen)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ext_suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


@dataclass(frozen=True)
class Build:
    """A current build: module name -> its extension file (the shared library too)."""

    directory: Path
    extensions: dict[str, Path]


def check(directory: Path = DEFAULT_DIR) -> tuple[Build | None, str]:
    """The build in ``directory`` if it can run here and matches the current sources;
    else ``None`` and why not (one phrase)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no compiled build in {directory}"
    except (OSError, ValueError) as error:
        return None, f"unreadable {directory / MANIFEST} ({error})"
    if manifest.get("format") != FORMAT or manifest.get("ext_suffix") != ext_suffix():
        return None, f"the build in {directory} is for another Python or format"
    if sorted(manifest.get("compiled", ())) != sorted(COMPILED):
        return None, f"the build in {directory} compiled another set of modules"
    # The sources the build read, as it recorded them (not recomputed here: that parses
    # 35 files at each start). An import added since shows up as a changed file.
    sources: dict[str, str] = manifest.get("sources", {})
    if not {str(module_path(name).relative_to(ROOT)) for name in COMPILED} <= set(sources):
        return None, f"the build in {directory} did not record its sources"
    for relative, digest in sources.items():
        path = ROOT / relative
        if not path.is_file() or sha256(path) != digest:
            return None, f"{relative} changed since the build in {directory}"
    extensions = {name: directory / rel for name, rel in manifest.get("extensions", {}).items()}
    missing = [str(path) for path in extensions.values() if not path.is_file()]
    if missing or not set(COMPILED) <= set(extensions):
        return None, f"the build in {directory} is incomplete ({', '.join(missing) or 'modules'})"
    return Build(directory, extensions), ""


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and mypyc's shared library) in the build."""

    def __init__(self, build: Build) -> None:
        self.build = build

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.build.extensions.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def asked() -> bool:
    """``RCSIM_COMPILED`` asks for the compiled build."""
    return os.environ.get(ENV, "").strip().lower() not in _OFF


def build_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


def install_if_asked() -> bool:
    """Called by ``simulator/__init__.py`` before any other simulator module is imported:
    with ``RCSIM_COMPILED=1`` and a current build, the compiled modules are imported from
    it; otherwise one line on stderr says why not and everything stays pure Python."""
    if not asked():
        return False
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return True
    directory = build_dir()
    build, reason = check(directory)
    if build is None:
        sys.stderr.write(
            f"rcsim: {ENV} is set but {reason}: running pure Python (`make fast` builds it)\n"
        )
        return False
    sys.meta_path.insert(0, _Finder(build))
    _copy_bound_methods()
    return True


def _copy_bound_methods() -> None:
    """Make ``copy.deepcopy`` copy a compiled object's bound method as it copies a pure
    one's: the method of the copied object. A compiled method bound to an object is a
    ``builtin_function_or_method``, which ``copy`` treats as atomic (the original's), so a
    checkpoint's engine would run its timers on the live nodes. Only methods bound to
    instances of compiled classes are redirected; every other builtin stays atomic."""
    dispatch: dict[type, Any] = getattr(copy, "_deepcopy_dispatch")  # noqa: B009
    compiled_types: dict[type, bool] = {}

    def deepcopy_builtin_method(method: Any, memo: dict[int, Any]) -> Any:
        owner = getattr(method, "__self__", None)
        kind = type(owner)
        native = compiled_types.get(kind)
        if native is None:
            native = compiled_types[kind] = any(c.__module__ in COMPILED for c in kind.__mro__)
        if not native:
            return method
        return getattr(copy.deepcopy(owner, memo), method.__name__)

    dispatch[types.BuiltinMethodType] = deepcopy_builtin_method


def running_compiled() -> bool:
    """The node package's gossip in this process is the compiled one."""
    gossip = importlib.import_module("simulator.node.gossip")
    return str(getattr(gossip, "__file__", "")).endswith(ext_suffix())
