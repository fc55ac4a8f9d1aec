"""Counts and rates a run is compared on besides its milestones, read alike on both sides.

* **Keys evicted / expired per node** (§25, §26), when a node has ``maxmemory`` or keys
  get TTLs: rcsim counts its ``key_evicted`` / ``key_expired`` events per node; a real
  node's ``INFO stats`` ``evicted_keys`` / ``expired_keys`` (its latest poll: a paused
  node's last answer, as rcsim keeps a paused node's state). A replica deletes an expired
  key only by its master's DEL, which neither side counts as expired.
* **Stale keys** (§26.2): each ``stale_keys`` expectation's value (the number of
  expired keys still in memory when it was checked; both checkers say it as a bare number).
* **Bus traffic** (§4.4) of an idle scenario (no clients, no step plays an action):
  messages sent per second, cluster-wide, PING, PONG and all types; rcsim's
  ``metrics.bus`` over the whole run, a real cluster's ``CLUSTER INFO``
  ``cluster_stats_messages_<type>_sent`` at time 0 and at the end (the same window).

Each figure is a row label -> value; rows are ``count`` (whole numbers) or ``rate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rcsim.verify import keystate
from rcsim.verify.scenario_api import model

Figures = dict[str, float | None]
BUS_TYPES = (("PING", "ping"), ("PONG", "pong"))
"""(rcsim's type name, CLUSTER INFO's) of the bus rows shown by type."""
RATE_PREFIX = "bus "


def kind_of(label: str) -> str:
    """``rate`` for the bus rows, ``count`` for the rest."""
    return "rate" if label.startswith(RATE_PREFIX) else "count"


def idle(scenario: model.Scenario) -> bool:
    """No clients and no step that plays an action: its bus traffic is comparable."""
    return not scenario.clients and all(step.action is None for step in scenario.steps)


def key_nodes(scenario: model.Scenario) -> tuple[list[str], list[str]]:
    """(nodes whose evictions are counted, nodes whose expirations are counted)."""
    names = [n.name for n in scenario.cluster.nodes]  # the scenario's order
    config = scenario.cluster.config
    evicting = [
        n.name
        for n in scenario.cluster.nodes
        if keystate.maxmemory_of({**config, **n.config}) is not None
    ]
    return evicting, names if keystate.has_ttls(scenario) else []


def key_figures(scenario: model.Scenario, counters: Mapping[str, Mapping[str, int]]) -> Figures:
    """``evicted keys NODE`` / ``expired keys NODE`` from per-node counters
    (``evicted_keys``, ``expired_keys``; a node missing from ``counters``: None)."""
    evicting, expiring = key_nodes(scenario)
    out: Figures = {}
    for label, nodes, counter in (
        ("evicted keys", evicting, "evicted_keys"),
        ("expired keys", expiring, "expired_keys"),
    ):
        for node in nodes:
            values = counters.get(node)
            out[f"{label} {node}"] = None if values is None else values.get(counter, 0)
    return out


def counters_of_events(
    events: Sequence[Mapping[str, Any]], nodes: Sequence[str]
) -> dict[str, dict[str, int]]:
    """rcsim's counters: its key_evicted / key_expired events per node (every one of
    ``nodes`` counts, from 0)."""
    out: dict[str, dict[str, int]] = {name: {} for name in nodes}
    for event in events:
        counter = {"key_evicted": "evicted_keys", "key_expired": "expired_keys"}.get(
            str(event["kind"])
        )
        if counter is not None and event.get("node") is not None:
            mine = out.setdefault(str(event["node"]), {})
            mine[counter] = mine.get(counter, 0) + 1
    return out


def stale_figures(results: Sequence[Mapping[str, Any]]) -> Figures:
    """Each ``stale_keys`` expectation's value, labelled as its verdict row is."""
    out: Figures = {}
    for result in results:
        if result["kind"] not in ("expect", "final") or result["condition"] != "stale_keys":
            continue
        where = "end" if result["step"] is None else f"step {result['step'] + 1}"
        parts = str(result["loc"]).split(":")
        line = parts[-2] if len(parts) >= 3 else "?"
        observed = str(result["observed"])
        out[f"{where} stale keys (line {line})"] = int(observed) if observed.isdigit() else None
    return out


def bus_figures_sim(bus: Mapping[str, Any]) -> Figures:
    """rcsim's ``metrics.bus`` (simulator/bus_stats.py) as the bus rows."""
    by_type = bus.get("by_type", {})
    out: Figures = {
        f"{RATE_PREFIX}{name} msg/s": float(by_type.get(name, {}).get("sent_per_s", 0.0))
        for name, _ in BUS_TYPES
    }
    out[f"{RATE_PREFIX}all msg/s"] = float(bus.get("total", {}).get("sent_per_s", 0.0))
    return out


def bus_figures_real(
    start: Mapping[str, Mapping[str, int]], end: Mapping[str, Mapping[str, int]], ms: float
) -> Figures:
    """The same rows from two reads of every node's sent counters, ``ms`` apart (a node
    that did not answer both times is left out)."""
    seconds = ms / 1000
    nodes = [n for n in start if n in end]
    out: Figures = {}
    for name, real in BUS_TYPES:
        sent = sum(end[n].get(real, 0) - start[n].get(real, 0) for n in nodes)
        out[f"{RATE_PREFIX}{name} msg/s"] = round(sent / seconds, 3) if seconds > 0 else None
    total = sum(sum(end[n].values()) - sum(start[n].values()) for n in nodes)
    out[f"{RATE_PREFIX}all msg/s"] = round(total / seconds, 3) if seconds > 0 else None
    return out
