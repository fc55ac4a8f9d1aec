"""Which parts of a scenario can be played on a real cluster, said before anything starts.

A scenario is refused (exit 2) when any step's action cannot be played for real
(partitions without root), or a ``wait_for`` cannot be observed (the player would not
know when to go on), or it starts by MEET; conditions in ``expect`` that cannot be
observed are not a refusal: they are reported as "not observable" next to rcsim's verdict.
"""

from __future__ import annotations

from rcsim.verify.scenario_api import model

DERIVED_EVENTS: dict[str, frozenset[str]] = {
    "pfail": frozenset(),
    "fail": frozenset(),
    "promoted": frozenset(),
    "role": frozenset({"role", "master"}),
    "cluster_state": frozenset({"state"}),
    "crash": frozenset(),
    "pause": frozenset(),
    "resume": frozenset(),
    "restart": frozenset(),
    "shutdown": frozenset(),
    "shutdown_wait": frozenset(),  # the master's log (logevents.py)
    "partition": frozenset(),
    "cut": frozenset(),
    "heal": frozenset(),
    "failover": frozenset({"mode"}),
    "node_added": frozenset(),
    "node_removed": frozenset(),
    "forget": frozenset({"reply"}),
    "reshard_done": frozenset({"ok", "job"}),
    "election_scheduled": frozenset({"rank", "delay_ms", "offset"}),
    "election_started": frozenset({"epoch"}),
    "vote": frozenset({"epoch"}),
    "mf_paused": frozenset(),
    "full_sync": frozenset({"keys"}),
    "psync": frozenset({"mode"}),  # the replica's log: partial or full (logevents.py)
    "loaded": frozenset({"keys", "expired"}),  # counts from an RDB load only
    "publish": frozenset({"channel", "message", "sharded", "receivers"}),
    "migration": frozenset(),
    "request": frozenset({"client", "command", "key", "slot", "outcome", "asking"}),
    "key_expired": frozenset({"key"}),
    "key_evicted": frozenset({"key", "policy"}),
    "keyspace_event": frozenset({"channel", "message", "receivers"}),
    "stale_read": frozenset({"client", "key", "version", "current", "stale_ms"}),
    "invalidation": frozenset({"keys", "dropped"}),
    "tracking_lost": frozenset({"how", "cached"}),
    "local_read": frozenset({"client", "key", "value", "stale"}),
    "cache_flush": frozenset({"client", "reason", "dropped", "slot"}),
}
"""Event kinds a real run produces (from the polls, the nodes' logs, the player or the
keyspace notifications, :mod:`rcsim.verify.keyspace`; the caching clients,
:mod:`rcsim.verify.cacheaside` and :mod:`rcsim.verify.tracking`), with the fields it knows."""

OBSERVABLE = (
    model.ClusterState,
    model.Role,
    model.Owner,
    model.Flag,
    model.Agree,
    model.Covered,
    model.Promoted,
    model.Epoch,
    model.LostWrites,
    model.Delivered,
    model.Key,
    model.StaleKeys,
    model.CacheMetric,
    model.Requests,
    model.Latency,
)

# A slot migration during a partition or cut is played: MIGRATE connects without the
# node's bind-source-addr (migrateGetSocket, cluster.c), so address rules alone let it
# through (measured: open-slot, 5 of 5), but the nodes run under uids of their own and
# rcsim.verify.firewall drops their packets by process too.


def unobservable(condition: model.Condition) -> str | None:
    """Why a condition cannot be checked on a real cluster (None: it can)."""
    if isinstance(condition, OBSERVABLE):
        return None
    if isinstance(condition, model.Event):
        known = DERIVED_EVENTS.get(condition.kind)
        if known is None:
            return f"a '{condition.kind}' event is not observable on a real cluster"
        extra = sorted(set(condition.fields) - known)
        if extra:
            return f"the '{condition.kind}' event's field(s) {', '.join(extra)} are not observable on a real cluster"
        return None
    return f"'{condition.yaml_key}' is not observable on a real cluster"


PLAYED_ACTIONS: tuple[type[model.Action], ...] = (
    model.Kill,
    model.KillMasters,
    model.Pause,
    model.Resume,
    model.Restart,
    model.Shutdown,
    model.Partition,
    model.Cut,
    model.Heal,
    model.Failover,
    model.SetConfig,
    model.Reshard,
    model.Rebalance,
    model.Fix,
    model.Write,
    model.Read,
    model.Workload,
    model.Subscribe,
    model.Publish,
    model.AddNode,
    model.DelNode,
    model.Forget,
)
"""The actions :meth:`rcsim.verify.player.Player._play` plays; any other is refused up
front, so a run never stops half-way with a real cluster started."""

UNPLAYED_WHY: dict[type[model.Action], str] = {
    model.Expire: "is not played by verify yet (a 'write' with 'ttl' is)",
}


def unplayable_action(action: model.Action, partitions: str | None) -> str | None:
    """Why an action cannot be played for real (None: it can). ``partitions`` is why
    iptables cannot be used here (None: it can)."""
    if isinstance(action, model.Partition | model.Cut | model.Heal) and partitions is not None:
        return f"'{action.yaml_key}': {partitions}"
    if not isinstance(action, PLAYED_ACTIONS):
        why = UNPLAYED_WHY.get(type(action), "is not played by verify")
        return f"'{action.yaml_key}' {why}"
    return None


def unplayed_clients(scenario: model.Scenario) -> list[str]:
    """Client behaviour verify's clients don't have: refused rather than played as plain
    clients, which would compare something else. ``cache`` (rcsim.verify.cacheaside) and
    ``local_cache`` (rcsim.verify.tracking) are played."""
    out: list[str] = []
    for c in scenario.clients:
        if c.cache is not None and c.local_cache is not None:
            out.append(
                f"{c.loc}: client '{c.name}': 'cache' and 'local_cache' together are not "
                "played by verify's clients"
            )
    return out


REAL_NODES_MAX = 100
"""The most nodes verify starts on one host. Measured on the 2-core development host
(shared with other work): 30 nodes play (bus-cost, fidelity/mass-failure-small: 5 runs
each); the 200-node mass-failure lesson did not: its cluster never passed the healthy
check within 60 s (load average 147 on 2 cores from 200 servers' cron and bus traffic
plus 200 pollers at 20 ms, the verifier at 4.1 GB) and stopping it all took 17 minutes
(docs/fidelity.md, "Mass failure on a real cluster"). Sizes between 30 and 200 were not
measured; 100 is a round bound between them."""


def too_big(scenario: model.Scenario) -> str | None:
    """Why the cluster is too big to play fairly on one host (None: it is not)."""
    count = len(scenario.cluster.nodes) + sum(
        1 for s in scenario.steps if isinstance(s.action, model.AddNode)
    )
    if count <= REAL_NODES_MAX:
        return None
    return (
        f"{count} nodes: more than the {REAL_NODES_MAX} real servers verify starts on one host "
        "(measured: 200 never became healthy within 60 s on 2 cores, load average 147; see "
        'docs/fidelity.md, "Mass failure on a real cluster"; '
        "scenarios/fidelity/mass-failure-small.yaml is the played variant)"
    )


def refusals(scenario: model.Scenario, partitions: str | None) -> list[str]:
    """Every reason the scenario cannot be played for real, as ``file:line:col: message``."""
    out: list[str] = []
    big = too_big(scenario)
    if big is not None:
        out.append(f"{scenario.cluster.loc}: {big}")
    if scenario.cluster.start != "converged":
        out.append(
            f"{scenario.cluster.loc}: 'start: {scenario.cluster.start}' is not supported (verify starts from a converged cluster)"
        )
    if scenario.cluster.topology not in ("cluster", "standalone"):
        out.append(
            f"{scenario.cluster.loc}: 'topology: {scenario.cluster.topology}' is not supported "
            "(verify plays a real cluster or one real instance, rcsim.verify.standalone)"
        )
    out.extend(unplayed_clients(scenario))
    if scenario.cluster.gossip != "redis-7.0":
        out.append(
            f"{scenario.cluster.loc}: 'behaviour: gossip: {scenario.cluster.gossip}' is an older "
            "Redis's rule (a real 7.0.15 cluster gossips as redis-7.0)"
        )
    for step in scenario.steps:
        action = step.action
        if action is not None:
            reason = unplayable_action(action, partitions)
            if reason is not None:
                out.append(f"{action.loc}: {reason}")
        for condition in step.wait_for:
            reason = unobservable(condition)
            if reason is not None:
                out.append(f"{condition.loc}: wait_for {reason}")
    return out


def unobservable_expects(scenario: model.Scenario) -> list[str]:
    """``expect`` conditions that will be reported as not observable (not a refusal)."""
    conditions = [c for step in scenario.steps for c in step.expect] + list(scenario.expect)
    return [f"{c.loc}: {reason}" for c in conditions if (reason := unobservable(c)) is not None]


def played_differently(scenario: model.Scenario) -> list[str]:
    """What is played, but not as rcsim models it (printed as notes, not refused)."""
    out: list[str] = []
    if scenario.cluster.service_scale is not None:
        out.append(
            f"{scenario.cluster.loc}: 'service' (rcsim's per-command cost, scaled "
            f"x{scenario.cluster.service_scale:g}) is not imitated: the real server runs at its "
            "own speed, so the same rates load it far less"
        )
    kills = [s.action for s in scenario.steps if isinstance(s.action, model.KillMasters)]
    if kills:
        out.append(
            f"{kills[0].loc}: 'kill-masters': real run k kills the masters rcsim's seed k "
            "draws (rcsim.verify.victims); with --seeds equal to --runs each seed's victims "
            "have their real run"
        )
    return out
