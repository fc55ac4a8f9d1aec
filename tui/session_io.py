"""Saving a session: the scenario YAML that replays it, and the trace as JSONL.

The saved scenario is the original file's document with ``seed`` fixed, its steps
untouched, and every injection (``sim.injections``) in the top-level ``injections``
list as ``at: <t>ms`` plus the action. The TUI injects only at the start of a
millisecond (before its events, never at a checkpoint instant), and the runner applies
an injection exactly there (``ScenarioDriver._inject``, ``Engine.schedule_first``), apart
from the steps: no step is renumbered or moved, so a replay gives the same trace, byte
for byte (``tests/test_lesson_loop_replay.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from simulator.actions import ACTIONS, NODE_ONLY
from simulator.harness.report import trace_header
from simulator.simulation import Injection
from simulator.trace import write_jsonl
from simulator.views import MIGRATE_PIPELINE
from tui.model import Session

SIMPLE_NODE_VERBS = NODE_ONLY
"""Actions written as ``verb: node`` (from the action registry)."""


def injection_step(injection: Injection) -> dict[str, Any]:
    """One scenario step (YAML mapping) for an injected action (any registered action a
    scenario step can name, plus ``caption``)."""
    args = injection.args
    action = injection.action
    step: dict[str, Any] = {"at": f"{injection.t}ms"}
    registered = ACTIONS.get(action)
    if registered is not None and not registered.args:
        step[action] = True
    elif action in SIMPLE_NODE_VERBS:
        step[action] = args["node"]
    elif action == "partition":
        step["partition"] = [list(g) for g in args["groups"]]
    elif action == "cut":
        step["cut"] = {"from": list(args["from"]), "to": list(args["to"])}
    elif action == "heal":
        groups = args.get("groups")
        step["heal"] = "all" if groups is None else [list(g) for g in groups]
    elif action == "failover":
        step["failover"] = {"node": args["node"], "mode": args.get("mode", "default")}
    elif action == "add-node":
        spec = {
            k: v
            for k, v in (("name", args.get("name")), ("replica_of", args.get("replica_of")))
            if v
        }
        step["add-node"] = spec
    elif action == "reshard":
        spec = {"from": args["source"], "to": args["target"]}
        slots = args.get("slots")
        spec["slots"] = args.get("count") if slots is None else " ".join(str(s) for s in slots)
        if args.get("pipeline", MIGRATE_PIPELINE) != MIGRATE_PIPELINE:
            spec["pipeline"] = args["pipeline"]
        step["reshard"] = spec
    elif action == "set-config":
        step["set-config"] = {"node": args.get("node", "all"), **dict(args.get("settings", {}))}
    elif action == "caption":
        step["caption"] = str(args.get("text", ""))
    else:
        step[action] = {k: v for k, v in args.items() if v is not None}
    return step


def session_document(session: Session) -> dict[str, Any]:
    """The scenario document (a dict ready for ``yaml.safe_dump``) of this session: the
    original steps untouched, every injection in ``injections`` (after the file's own,
    if it had some: at the same millisecond the TUI's came first, before that
    millisecond's events), and ``run_until`` moved to cover injections after the end."""
    if session.source_text:
        document = yaml.safe_load(session.source_text)
        if not isinstance(document, dict):
            raise ValueError("the original scenario is not a mapping")
    else:
        document = {"name": session.name or "rcsim session", "cluster": session.cluster_spec}
    if not str(document.get("name", "")).endswith("(session)"):
        document["name"] = f"{document.get('name', 'session')} (session)"
    document["seed"] = session.sim.seed
    made = [(i.t, 0, n, injection_step(i)) for n, i in enumerate(session.sim.injections)]
    known = [(_ms(d["at"]), 1, n, dict(d)) for n, d in enumerate(document.get("injections") or [])]
    merged = [entry[3] for entry in sorted(made + known, key=lambda e: (e[0], e[1], e[2]))]
    if not merged:
        return document
    document["injections"] = merged
    last = max(_ms(d["at"]) for d in merged)
    end = _ms(document["run_until"]) if "run_until" in document else None
    if (end is not None and last > end) or not document.get("steps"):
        # The run must reach every injection (and, with no lesson, what was watched).
        document["run_until"] = f"{max(last, session.sim.now, end or 0)}ms"
    return document


def _ms(value: Any) -> int:
    from simulator.scenario import parse_duration

    return parse_duration(str(value)) if not isinstance(value, int) else value


SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "scenario.schema.json"
"""The schema in a source checkout (absent from an installed wheel)."""


def schema_modeline(path: Path) -> str:
    """The editor's ``$schema`` line for a file saved at ``path``: the checkout's
    docs/scenario.schema.json relative to the file's directory when the file is inside
    that checkout, else no modeline (``rcsim schema`` prints the schema to point at)."""
    root = SCHEMA.parent.parent
    target = path.resolve()
    if not SCHEMA.is_file() or not target.is_relative_to(root):
        return "# Schema: rcsim schema > scenario.schema.json (then point your editor at it).\n"
    relative = Path(os.path.relpath(SCHEMA, target.parent)).as_posix()
    return f"# yaml-language-server: $schema={relative}\n"


def save_session(session: Session, path: Path) -> Path:
    document = session_document(session)
    text = schema_modeline(path)
    text += "# Saved by rcsim tui: the original steps plus every injected action.\n"
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    session.mark_saved()
    return path


def export_trace(session: Session, path: Path) -> int:
    """The trace as JSONL, with the header line ``rcsim run --trace`` writes (version,
    seed, scenario, source, sha256 of the lesson file)."""
    header = trace_header(session.scenario, session.sim.seed, session.name)
    with path.open("w", encoding="utf-8", newline="\n") as stream:
        # every event, the heartbeats a long session spilled to disk read back
        return write_jsonl(session.sim.views.whole_trace(), stream, header)
