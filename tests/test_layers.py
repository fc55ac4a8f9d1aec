"""The shape of the code, guarded: no import cycle, and every arrow points the right way.

Reads every import of the project's own modules from the source (top-level, under
``TYPE_CHECKING`` and inside functions alike: a late import is still a dependency) and
fails on a cycle or on an arrow the architecture forbids (docs/architecture.md).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("simulator", "tui", "rcsim")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _owning_module(name: str) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (``a.b.c`` → ``a.b``)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, statement: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(statement, ast.Import):
        candidates = [alias.name for alias in statement.names]
    else:
        base = statement.module or ""
        if statement.level:
            package = module.split(".")
            if modules()[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (statement.level - 1)]
            base = ".".join([*package, base] if base else package)
        candidates = [f"{base}.{alias.name}" for alias in statement.names]
    owners = (_owning_module(name) for name in candidates)
    return [owner for owner in owners if owner is not None and owner != module]


@cache
def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in modules().items():
        graph.add_node(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for statement in ast.walk(tree):
            if isinstance(statement, ast.Import | ast.ImportFrom):
                for target in _targets(module, statement):
                    graph.add_edge(module, target)
    return graph


def _arrows(source_prefix: str, target_prefix: str) -> list[str]:
    def within(module: str, prefix: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    return sorted(
        f"{a} -> {b}"
        for a, b in import_graph().edges
        if within(a, source_prefix) and within(b, target_prefix)
    )


def test_the_graph_sees_the_packages() -> None:
    # A guard for the guard: an empty graph would make every test below pass.
    graph = import_graph()
    assert "simulator.engine" in graph
    assert graph.number_of_edges() > 50


def test_no_import_cycle_anywhere() -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == []


@pytest.mark.parametrize("ui", ["tui", "rcsim"])
def test_the_engine_and_model_never_import_a_ui(ui: str) -> None:
    assert _arrows("simulator", ui) == []


def test_the_tui_and_the_cli_do_not_import_each_other_upward() -> None:
    assert _arrows("tui", "rcsim") == []


def test_a_node_sees_only_its_host_never_the_cluster() -> None:
    # simulator/node talks to a NodeHost protocol; the cluster implements it.
    assert _arrows("simulator.node", "simulator.cluster") == []


def test_the_scenario_format_never_imports_the_harness() -> None:
    assert _arrows("simulator.scenario", "simulator.harness") == []
    assert _arrows("simulator.scenario", "simulator.simulation") == []


# The public API a UI (the TUI, the CLI) may import; everything else in simulator/ is
# the model's inside (docs/architecture.md, "The UI seam").
PUBLIC_API = (
    "simulator",
    "simulator.simulation",
    "simulator.views",
    "simulator.scenario",
    "simulator.harness",
    "simulator.trace",
    "simulator.trace_kinds",
    "simulator.actions",
    "simulator.slots",
    "simulator.config",
    "simulator.export",
    "simulator.fidelity_bus",
    "simulator.fidelity",
    "simulator.fidelity_converged",
    "simulator.fidelity_heal",
    "simulator.fidelity_manual",
    "simulator.fidelity_partition",
    "simulator.fidelity_evict",
    "simulator.fidelity_reshard",
    "simulator.fidelity_expiry",
    "simulator.resp",
)


def _public(module: str) -> bool:
    return any(module == p or (p != "simulator" and module.startswith(p + ".")) for p in PUBLIC_API)


@pytest.mark.parametrize("ui", ["tui", "rcsim"])
def test_a_ui_reaches_the_model_only_through_the_public_api(ui: str) -> None:
    inside = [arrow for arrow in _arrows(ui, "simulator") if not _public(arrow.split(" -> ")[1])]
    assert inside == []


# The data plane's layers, bottom first (simulator/dataplane/__init__.py): a module may
# import its own layer and the ones below, never one above.
DATAPLANE_LAYERS = (
    (
        "outcomes",
        "keyspace",
        "routing",
        "standalone_route",
        "service",
        "pubsub",
        "ledger",
        "persistence",
        "redis_cli",
        "redis_cli_fix",
        "migrate_cut",
        "setslot_cost",
        "memory",
        "dicttable",
        "eviction",
        "expires",
        "stream",
        "stale_reads",
        "backing_db",
        "tracking",
        "local_cache",
    ),
    (
        "client_op",
        "model",
        "node_data",
        "replica_acks",
        "maxmemory",
        "expiry",
        "key_lookup",
        "restart_load",
        "shutdown_wait",
    ),
    ("server", "expire_commands"),
    ("clients", "client_tracking"),
    ("resharding", "cache_aside"),
    ("actions",),
)


def _dataplane_layer(module: str) -> int | None:
    leaf = module.removeprefix("simulator.dataplane.")
    for level, names in enumerate(DATAPLANE_LAYERS):
        if leaf in names:
            return level
    return None


def test_every_data_plane_module_has_a_layer() -> None:
    unplaced = [
        m for m in modules() if m.startswith("simulator.dataplane.") and _dataplane_layer(m) is None
    ]
    assert unplaced == []


def test_the_data_plane_imports_only_downward() -> None:
    upward = []
    for arrow in _arrows("simulator.dataplane", "simulator.dataplane"):
        source, target = arrow.split(" -> ")
        low, high = _dataplane_layer(source), _dataplane_layer(target)
        if low is not None and high is not None and high > low:
            upward.append(arrow)
    assert upward == []
