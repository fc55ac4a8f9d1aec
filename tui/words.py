"""Trace events in plain words for the event log (no Textual import: usable headless)."""

from __future__ import annotations

from simulator.scenario.report import NOTABLE
from simulator.trace import TraceEvent

# Kinds that the log shows (state changes a learner should see); others are counted only:
# everything on the headless run's timeline, plus the steps that explain it.
LOGGED = NOTABLE | frozenset(
    {
        "pfail_cleared",
        "fail_cleared",
        "election_scheduled",
        "election_delayed",
        "election_expired",
        "cant_failover",
        "vote_denied",
        "epoch_bumped",
        "failover_requested",
        "mf_timeout",
        "mf_ready",
        "set_config",
        "reshard_started",
        "reshard_done",
        "slot_moved",
        "sync",
        "fork",
    }
)

# Log line weight: "alert" for faults and failures, "good" for recoveries, "info" otherwise.
ALERT = frozenset(
    {"crash", "pause", "partition", "cut", "fail", "shutdown", "epoch_collision", "mf_timeout"}
)
GOOD = frozenset({"promoted", "resume", "restart", "heal", "pfail_cleared", "fail_cleared"})


def seconds(t: int) -> str:
    """Simulated milliseconds as ``12.345s``."""
    return f"{t / 1000:.3f}s"


def level(event: TraceEvent) -> str:
    kind = event["kind"]
    if kind == "cluster_state":
        return "good" if event.get("state") == "ok" else "alert"
    if kind in ALERT:
        return "alert"
    if kind in GOOD:
        return "good"
    return "info"


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
    if kind == "pause":
        return f"{node} is paused (SIGSTOP): alive but silent"
    if kind == "resume":
        return f"{node} resumes (SIGCONT)"
    if kind == "restart":
        return f"{node} restarts as a {event.get('role')}"
    if kind == "shutdown":
        return f"{node} shuts down cleanly"
    if kind == "partition":
        groups = event.get("groups") or []
        return "network split: " + " | ".join(" ".join(g) for g in groups)
    if kind == "cut":
        return f"one-way cut: {' '.join(event.get('sources', []))} can't reach {' '.join(event.get('targets', []))}"
    if kind == "heal":
        return "network healed" if event.get("groups") is None else "some links healed"
    if kind == "pfail":
        return f"{node} suspects {target} (PFAIL: no pong for {event.get('delay_ms')} ms)"
    if kind == "pfail_cleared":
        return f"{node} hears from {target} again (PFAIL cleared)"
    if kind == "fail":
        if event.get("via") == "quorum":
            return f"{node} marks {target} FAIL ({event.get('reports')} of {event.get('quorum')} masters agree)"
        return f"{node} marks {target} FAIL (told by {event.get('sender')})"
    if kind == "fail_cleared":
        return f"{node} clears FAIL on {target} ({event.get('reason')})"
    if kind == "election_scheduled":
        return (
            f"{node} (rank {event.get('rank')}, offset {event.get('offset')}) will ask for votes "
            f"in {event.get('delay_ms')} ms to replace {target}"
        )
    if kind == "election_delayed":
        return f"{node} waits {event.get('added_ms')} ms more (rank now {event.get('rank')})"
    if kind == "election_started":
        return f"{node} asks for votes for epoch {event.get('epoch')} (needs {event.get('quorum')})"
    if kind == "election_expired":
        return f"{node}'s election for epoch {event.get('epoch')} expired"
    if kind == "cant_failover":
        return f"{node} can't fail over {target}: {event.get('reason')}"
    if kind == "vote":
        return f"{node} votes for {target} (epoch {event.get('epoch')})"
    if kind == "vote_denied":
        return f"{node} refuses to vote for {target}: {event.get('reason')}"
    if kind == "promoted":
        return (
            f"{node} is promoted and takes over {target}'s slots (configEpoch {event.get('epoch')})"
        )
    if kind == "role":
        if event.get("role") == "master":
            return f"{node} is now a master"
        return f"{node} is now a replica of {event.get('master')} ({event.get('reason')})"
    if kind == "cluster_state":
        return f"{node} says cluster_state:{event.get('state')}"
    if kind == "update_sent":
        return f"{node} sends UPDATE to {target}: {event.get('about')} owns those slots now"
    if kind == "epoch_collision":
        return f"{node} and {target} share configEpoch {event.get('epoch')}: {node} bumps"
    if kind == "epoch_bumped":
        return f"{node} bumps its configEpoch to {event.get('epoch')}"
    if kind == "migration":
        return f"{node} migrates to orphaned master {target}"
    if kind == "failover":
        return (
            f"CLUSTER FAILOVER {str(event.get('mode', '')).upper()} on {node}: {event.get('reply')}"
        )
    if kind == "failover_requested":
        return f"{node} starts a manual failover of {target} ({event.get('mode')})"
    if kind == "mf_timeout":
        return f"{node}'s manual failover timed out"
    if kind == "mf_ready":
        return f"{node} caught up with its master (offset {event.get('offset')})"
    if kind == "node_added":
        return f"{node} joins the cluster (MEET via {event.get('via')})"
    if kind == "node_removed":
        return f"{node} is removed from the cluster"
    if kind == "sync":
        return f"{node} syncs with its master {target}"
    if kind == "fork":
        return "timeline forked here"
    rest = " ".join(
        f"{k}={v}" for k, v in event.items() if k not in ("t", "kind", "node", "target")
    )
    who = " ".join(str(p) for p in (node, target) if p)
    return f"{kind} {who} {rest}".strip()
