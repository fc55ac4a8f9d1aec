"""Trace events and notices in plain words for the TUI (no Textual import: usable headless).

Which kinds the log shows, their weight and their sentence come from the registry
(:mod:`simulator.trace_kinds`); only sentences that depend on a field's value are here,
and :func:`plain` turns values (lists, groups, ``None``) into words so no Python repr
reaches the screen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from simulator.trace import TraceEvent
from simulator.trace_kinds import KINDS, LOGGED
from simulator.views.shapes import CheckResult

__all__ = [
    "LOGGED",
    "check_line",
    "check_text",
    "describe",
    "fork_line",
    "injected",
    "level",
    "plain",
    "seconds",
    "verdict_line",
]

# Why a replica may not start an election or a master clears FAIL, in operator words.
REASONS = {
    "data_age": "its data is too old to be trusted (cluster-replica-validity-factor, §11.2)",
    "no slots": "it serves no slots, so FAIL is cleared at once",
    "replica": "a replica's FAIL is cleared as soon as it answers",
    "master reachable after 2*NT": "it answers again and nobody took over within 2 × NT",
}


def seconds(t: int) -> str:
    """Simulated milliseconds as ``12.345s``."""
    return f"{t / 1000:.3f}s"


def plain(value: object) -> str:
    """A value as a learner reads it: groups as ``n1 n4 | n2 n3``, lists as ``n1 n2``,
    ``None`` as ``-``, anything without a readable form by its kind's name."""
    if value is None:
        return "-"
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, list | tuple) for v in value):
            return " | ".join(" ".join(plain(n) for n in group) for group in value)
        return " ".join(plain(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {plain(v)}" for k, v in value.items())
    return getattr(value, "name", None) or type(value).__name__.lower()


def level(event: TraceEvent) -> str:
    kind = event["kind"]
    if kind == "cluster_state":
        return "good" if event.get("state") == "ok" else "alert"
    if kind == "reshard_done" and not event.get("ok", True):
        return "alert"
    registered = KINDS.get(kind)
    return "info" if registered is None else registered.tone


def _special(event: TraceEvent) -> str | None:
    """Sentences whose shape depends on a field's value."""
    kind = event["kind"]
    node = event.get("node", "")
    target = event.get("target", "")
    if kind == "crash":
        how = "loses power" if event.get("power_loss") else "crashes (kill -9)"
        return f"{node} {how}"
    if kind == "partition":
        return "network split: " + plain(event.get("groups") or [])
    if kind == "cut":
        return f"one-way cut: {plain(event.get('sources', []))} can no longer reach {plain(event.get('targets', []))}"
    if kind == "heal":
        if event.get("groups") is None:
            return "network healed"
        return "links healed between " + plain(event.get("groups"))
    if kind == "fail":
        if event.get("via") == "quorum":
            return f"{node} marks {target} FAIL ({event.get('reports')} of {event.get('quorum')} masters agree)"
        return f"{node} marks {target} FAIL (told by {event.get('sender')})"
    if kind == "fail_cleared":
        reason = str(event.get("reason", ""))
        return f"{node} clears FAIL on {target}: {REASONS.get(reason, reason)}"
    if kind == "role":
        if event.get("role") == "master":
            return f"{node} is now a master"
        return f"{node} is now a replica of {event.get('master')} ({event.get('reason')})"
    if kind == "failover":
        mode = str(event.get("mode") or "default").upper()
        command = "CLUSTER FAILOVER" + ("" if mode == "DEFAULT" else f" {mode}")
        return f"{command} on {node}: {plain(event.get('reply'))}"
    if kind == "cant_failover":
        reason = str(event.get("reason", ""))
        age = event.get("data_age_ms")
        why = REASONS.get(reason, reason)
        since = f"; last heard from its master {age} ms ago" if age is not None else ""
        return f"{node} may not replace {target}: {why}{since}"
    if kind == "request":
        key = event.get("key")
        command = f"{event.get('command')} {key}" if key is not None else str(event.get("command"))
        return f"{event.get('client')} sends {command} to {node}: {event.get('outcome')}"
    if kind == "reshard_started":
        return f"redis-cli starts a {plain(event.get('job'))}"
    if kind == "reshard_done":
        job = plain(event.get("job"))
        moved = f"{event.get('slots_moved')} slots, {event.get('keys_moved')} keys moved"
        if event.get("ok", True) and not event.get("error"):
            return f"redis-cli's {job} ends: {moved}"
        return f"redis-cli's {job} fails after {moved}: {plain(event.get('error'))}"
    if kind == "mf_paused":
        return f"{node} pauses writes until {seconds(int(event.get('until') or 0))} for {target}'s manual failover"
    if kind == "set_config":
        who = "every node" if node in ("", "all", None) else node
        return f"{who}: CONFIG SET {event.get('directive')} {plain(event.get('value'))}"
    return None


def describe(event: TraceEvent) -> str:
    """One sentence for ``event``, naming who did what (without the time)."""
    kind = event["kind"]
    if kind == "caption":
        return str(event.get("text", ""))
    special = _special(event)
    if special is not None:
        return special
    registered = KINDS.get(kind)
    if registered is not None:
        fields = {k: plain(v) if k not in ("t", "kind") else v for k, v in event.items()}
        return registered.sentence(fields)
    rest = " ".join(
        f"{k} {plain(v)}" for k, v in event.items() if k not in ("t", "kind", "node", "target")
    )
    who = " ".join(str(p) for p in (event.get("node", ""), event.get("target", "")) if p)
    return f"{kind.replace('_', ' ')} {who} {rest}".strip()


# --------------------------------------------------------------------------- lesson and notices


_EVENT_SPEC = re.compile(r"'([a-z_]+)((?: [^' ]+)*)'")


def _spec_words(match: re.Match[str]) -> str:
    """``'reshard_done job=fix ok=True'`` (a scenario's event condition) as
    ``'reshard done: job fix, ok yes'``."""
    kind, rest = match.group(1), match.group(2).split()
    who = [t for t in rest if "=" not in t]
    fields = []
    for token in (t for t in rest if "=" in t):
        key, value = token.split("=", 1)
        value = {"True": "yes", "False": "no", "None": "-"}.get(value, value)
        fields.append(f"{key.replace('_', ' ')} {value}")
    words = " ".join([kind.replace("_", " "), *who])
    return f"'{words}" + (f": {', '.join(fields)}'" if fields else "'")


def check_text(text: str) -> str:
    """A check's expected or observed text with its event specs in words."""
    return _EVENT_SPEC.sub(_spec_words, text)


def check_line(result: CheckResult) -> str:
    """A lesson check as the log shows it: PASS/FAIL, the condition, what was seen."""
    expected = check_text(result.expected)
    if result.passed:
        return f"PASS {result.condition}: {expected}"
    return f"FAIL {result.condition}: {expected} (saw {check_text(result.observed)})"


def verdict_line(results: Sequence[CheckResult]) -> str:
    """The lesson's verdict in one line."""
    failed = sum(1 for r in results if not r.passed)
    if not results:
        return "lesson over: no checks were made"
    if not failed:
        return f"lesson over: all {len(results)} checks hold"
    return f"lesson over: {failed} of {len(results)} checks failed"


def fork_line(number: int) -> str:
    return f"fork {number}: you changed the past here; what followed is replaced"


ACTION_WORDS = {
    "kill": "kill -9 {node}",
    "pause": "SIGSTOP {node} (paused)",
    "resume": "SIGCONT {node} (resumed)",
    "restart": "restart {node}",
    "partition": "network split: {groups}",
    "cut": "one-way cut: {from} can no longer reach {to}",
    "heal": "heal the network",
    "failover": "CLUSTER FAILOVER {mode} on {node}",
    "reshard": "redis-cli --cluster reshard: {count} slots from {source} to {target}",
    "add-node": "redis-cli --cluster add-node",
    "fix": "redis-cli --cluster fix",
    "rebalance": "redis-cli --cluster rebalance",
    "del-node": "redis-cli --cluster del-node {node}",
    "forget": "CLUSTER FORGET {node} on {on_nodes}",
    "set-config": "CONFIG SET {settings} on {node}",
}


class _Words(dict[str, str]):
    """Template values; an argument the call did not give reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


def _slot_list(slots: object) -> str:
    """Slot numbers as ranges: ``5461-5465 5470``."""
    numbers = sorted(int(n) for n in slots) if isinstance(slots, list | tuple) else []
    runs: list[str] = []
    for n in numbers:
        if runs and runs[-1].split("-")[-1] == str(n - 1):
            runs[-1] = f"{runs[-1].split('-')[0]}-{n}"
        else:
            runs.append(str(n))
    return " ".join(runs)


def injected(action: str, args: Mapping[str, Any], reply: object) -> str:
    """The notice for an injection the simulation accepted, in operator words."""
    template = ACTION_WORDS.get(action)
    values = _Words({k: plain(v) for k, v in args.items()})
    if action == "reshard" and "slots" in args:
        template = "redis-cli --cluster reshard: slots {slots} from {source} to {target}"
        values["slots"] = _slot_list(args["slots"])
    if action == "set-config" and isinstance(args.get("settings"), Mapping):
        values["settings"] = " ".join(f"{k} {plain(v)}" for k, v in args["settings"].items())
        values["node"] = values["node"] if values["node"] not in ("", "-") else "every node"
    if action == "forget" and not args.get("on_nodes"):
        template = "CLUSTER FORGET {node} on every other node"
    if action == "rebalance" and args.get("use_empty_masters"):
        template = "redis-cli --cluster rebalance --cluster-use-empty-masters"
    if template is None:
        words = " ".join([action, *(f"{k} {v}" for k, v in values.items() if v != "-")])
    else:
        words = " ".join(template.format_map(values).split())
        mode = str(args.get("mode") or "default").upper()
        words = words.replace(f"FAILOVER {args.get('mode')} on", "FAILOVER on")
        if action == "failover" and mode != "DEFAULT":
            words = words.replace("FAILOVER on", f"FAILOVER {mode} on")
    said = reply if isinstance(reply, str) else _replies(reply)
    return words + (f": {said}" if said else "")


def _replies(reply: object) -> str:
    """Per-node replies (``forget``) grouped by what was said: ``OK on n2 n3; ERR ... on n4``."""
    if not isinstance(reply, Mapping) or not reply:
        return ""
    said: dict[str, list[str]] = {}
    for node, text in reply.items():
        said.setdefault(str(text), []).append(str(node))
    return "; ".join(f"{text} on {' '.join(nodes)}" for text, nodes in said.items())
