"""Saving a session: the scenario YAML that replays it, and the trace as JSONL.

The saved scenario is the original file's document with ``seed`` fixed and every
injection (``sim.injections``) added as a step ``at: <t>ms``. Original steps that have
already started get ``at:`` their observed start, so inserting a step cannot shift an
``after:`` that was relative to its predecessor. The TUI injects only at the start of
a millisecond, which is where the runner starts a step scheduled ``at`` it.

An injection made while a lesson step was waiting (``wait_for``) splits that step: its
action (and caption, unless the step only waits: then the caption, shown when the wait
ends, stays with it), then the injections, then the rest of the wait with the remaining
timeout. The TUI injects on the wait's 10 ms poll grid so the polls do not shift.
Inserted steps renumber later steps, so ``caption`` events carry other ``step`` numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simulator.actions import ACTIONS, NODE_ONLY
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
    ordered = sorted(session.sim.injections, key=lambda i: (i.t, i.events))
    pending: list[tuple[int, dict[str, Any]]] = [(i.t, injection_step(i)) for i in ordered]
    steps: list[dict[str, Any]] = []
    previous_start: int | None = 0
    for index, step in enumerate(original):
        start = _absolute_start(session, index, step, previous_start)
        previous_start = start
        if start is not None:
            # Injections at a step's start millisecond were made before its event ran.
            while pending and pending[0][0] <= start:
                steps.append(pending.pop(0)[1])
            step.pop("after", None)
            step["at"] = f"{start}ms"
        end = session.step_ends.get(index)
        during = [
            p
            for p in pending
            if "wait_for" in step
            and start is not None
            and p[0] > start
            and (end is None or p[0] < end)
        ]
        if not during:
            steps.append(step)
            continue
        # The wait was in progress when these were injected: split the step so they are
        # not held back until it ends; the rest of the wait resumes on the same poll grid.
        # A step that only waits shows its caption when the wait ends: keep it with the wait.
        waits_only = not set(step) - {"at", "after", "caption", "wait_for", "timeout", "expect"}
        later = {"wait_for", "timeout", "expect"} | ({"caption"} if waits_only else set())
        head = {k: v for k, v in step.items() if k not in later}
        if set(head) - {"at"}:
            steps.append(head)
        steps.extend(p[1] for p in during)
        pending = pending[len(during) :]
        timeout = _ms(step.get("timeout", "60s"))
        tail: dict[str, Any] = {"wait_for": step["wait_for"]}
        if waits_only and "caption" in step:
            tail["caption"] = step["caption"]
        tail["timeout"] = (
            f"{max(1, start + timeout - during[-1][0]) if start is not None else timeout}ms"
        )
        if "expect" in step:
            tail["expect"] = step["expect"]
        steps.append(tail)
    steps.extend(p[1] for p in pending)
    if steps:
        document["steps"] = steps
    if "run_until" not in document and steps:
        document["run_until"] = f"{max(session.sim.now, 1) + 5000}ms"
    return document


def _absolute_start(
    session: Session, index: int, step: dict[str, Any], previous_start: int | None
) -> int | None:
    """When step ``index`` started (observed), or will start if its timing says so."""
    observed = session.step_starts.get(index)
    if observed is not None:
        return observed
    if "at" in step:
        return _ms(step["at"])
    if "after" in step and previous_start is not None:
        return previous_start + _ms(step["after"])
    return None


def _ms(value: Any) -> int:
    from simulator.scenario import parse_duration

    return parse_duration(str(value)) if not isinstance(value, int) else value


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
