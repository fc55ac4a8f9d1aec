"""Trace events in plain words for the event log (no Textual import: usable headless).

Which kinds the log shows, their weight and their sentence come from the registry
(:mod:`simulator.trace_kinds`); only sentences that depend on a field's value are here.
"""

from __future__ import annotations

from simulator.trace import TraceEvent
from simulator.trace_kinds import KINDS, LOGGED

__all__ = ["LOGGED", "describe", "level", "seconds"]


def seconds(t: int) -> str:
    """Simulated milliseconds as ``12.345s``."""
    return f"{t / 1000:.3f}s"


def level(event: TraceEvent) -> str:
    kind = event["kind"]
    if kind == "cluster_state":
        return "good" if event.get("state") == "ok" else "alert"
    registered = KINDS.get(kind)
    return "info" if registered is None else registered.tone


def describe(event: TraceEvent) -> str:
    """One sentence for ``event``, naming who did what (without the time)."""
    kind = event["kind"]
    node = event.get("node", "")
    target = event.get("target", "")
    if kind == "caption":
        return str(event.get("text", ""))
    if kind == "crash":
        how = "loses power" if event.get("power_loss") else "crashes (kill -9)"
        return f"{node} {how}"
    if kind == "partition":
        groups = event.get("groups") or []
        return "network split: " + " | ".join(" ".join(g) for g in groups)
    if kind == "cut":
        return f"one-way cut: {' '.join(event.get('sources', []))} can't reach {' '.join(event.get('targets', []))}"
    if kind == "heal":
        return "network healed" if event.get("groups") is None else "some links healed"
    if kind == "fail":
        if event.get("via") == "quorum":
            return f"{node} marks {target} FAIL ({event.get('reports')} of {event.get('quorum')} masters agree)"
        return f"{node} marks {target} FAIL (told by {event.get('sender')})"
    if kind == "role" and event.get("role") == "master":
        return f"{node} is now a master"
    if kind == "failover":
        return (
            f"CLUSTER FAILOVER {str(event.get('mode', '')).upper()} on {node}: {event.get('reply')}"
        )
    registered = KINDS.get(kind)
    if registered is not None:
        return registered.sentence(event)
    rest = " ".join(
        f"{k}={v}" for k, v in event.items() if k not in ("t", "kind", "node", "target")
    )
    who = " ".join(str(p) for p in (node, target) if p)
    return f"{kind} {who} {rest}".strip()
