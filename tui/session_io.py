"""Saving a session: the scenario YAML that replays it, and the trace as JSONL.

The saved scenario is the original file's document with ``seed`` fixed and every
injection (``sim.injections``) added as a step ``at: <t>ms``. Original steps that have
already started get ``at:`` their observed start, so inserting a step cannot shift an
``after:`` that was relative to its predecessor. The TUI injects only at the start of
a millisecond, which is where the runner starts a step scheduled ``at`` it.

Limitation (documented in docs/tui.md): an injection made while a lesson step was
still waiting (``wait_for``) is replayed when that wait ends, because steps run one
after another; such a saved file replays the same choices but not the same trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.simulation import Injection
from simulator.trace import write_jsonl
from tui.model import Session

SIMPLE_NODE_VERBS = ("kill", "pause", "resume", "restart", "shutdown", "del-node")


def injection_step(injection: Injection) -> dict[str, Any]:
    """One scenario step (YAML mapping) for an injected action."""
    args = injection.args
    action = injection.action
    step: dict[str, Any] = {"at": f"{injection.t}ms"}
    if action in SIMPLE_NODE_VERBS:
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
        step["reshard"] = spec
    elif action == "caption":
        step["caption"] = str(args.get("text", ""))
    else:
        step[action] = {k: v for k, v in args.items() if v is not None}
    return step


def session_document(session: Session) -> dict[str, Any]:
    """The scenario document (a dict ready for ``yaml.safe_dump``) of this session."""
    if session.source_text:
        document = yaml.safe_load(session.source_text)
        if not isinstance(document, dict):
            raise ValueError("the original scenario is not a mapping")
    else:
        document = {"name": session.name or "rcsim session", "cluster": session.cluster_spec}
    document["name"] = f"{document.get('name', 'session')} (session)"
    document["seed"] = session.sim.seed
    original: list[dict[str, Any]] = [dict(s) for s in document.get("steps") or []]
    timed: list[tuple[int, int, dict[str, Any]]] = []  # (time, order, step)
    for index, step in enumerate(original):
        start = session.step_starts.get(index)
        if start is not None:
            step.pop("after", None)
            step["at"] = f"{start}ms"
        timed.append((start if start is not None else -1, 1, step))
    steps: list[dict[str, Any]] = []
    injections = sorted(session.sim.injections, key=lambda i: (i.t, i.events))
    pending = [injection_step(i) for i in injections]
    times = [i.t for i in injections]
    for start, _, step in timed:
        # Injections made before this original step started come first.
        while pending and start >= 0 and times[0] <= start:
            steps.append(pending.pop(0))
            times.pop(0)
        if start < 0 and pending:
            if "after" in step and steps:
                previous = _start_of(steps[-1])
                if previous is not None:
                    step = {"at": f"{previous + _ms(step.pop('after'))}ms", **step}
            steps.extend(pending)
            pending, times = [], []
        steps.append(step)
    steps.extend(pending)
    if steps:
        document["steps"] = steps
    if "run_until" not in document and document.get("steps"):
        document["run_until"] = f"{max(session.sim.now, 1) + 5000}ms"
    return document


def _ms(value: Any) -> int:
    from simulator.scenario import parse_duration

    return parse_duration(str(value)) if not isinstance(value, int) else value


def _start_of(step: dict[str, Any]) -> int | None:
    at = step.get("at")
    return None if at is None else _ms(at)


def save_session(session: Session, path: Path) -> Path:
    document = session_document(session)
    text = "# yaml-language-server: $schema=../docs/scenario.schema.json\n"
    text += "# Saved by rcsim tui: the original steps plus every injected action.\n"
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path


def export_trace(session: Session, path: Path) -> int:
    header = {"kind": "header", "scenario": session.name, "seed": session.sim.seed}
    with path.open("w", encoding="utf-8", newline="\n") as stream:
        return write_jsonl(session.sim.trace.events, stream, header)
