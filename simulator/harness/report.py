"""What a headless run tells its reader: the timeline, the metrics, the JSON report,
JUnit XML and the reproduction stamp.

Metrics per failed master (a master that a step killed, paused or shut down) are
milestones in ms after the fault, read from the trace: ``first_pfail`` (first node to
flag it PFAIL, §8.1), ``first_fail`` (first node to mark it FAIL, §8), ``promoted`` (a
replica replaced it, §11.5) and ``all_ok`` (after the promotion, the first moment every
live node other than the victim reports ``cluster_state:ok``, §14).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from typing import Any
from xml.etree import ElementTree

from simulator import __version__, bus_stats, trace_kinds
from simulator.dataplane import outcomes
from simulator.harness.conditions import lost_writes_count
from simulator.harness.runner import Fault, Result, ScenarioDriver
from simulator.scenario import model
from simulator.simulation import Simulation
from simulator.trace import TraceEvent
from simulator.views.writes import row_dict

MILESTONES = ("first_pfail", "first_fail", "promoted", "all_ok")

REQUEST_OUTCOMES = outcomes.NAMES
"""The outcome keys reported when there is no data plane (all zero): the registry's."""

NOTABLE = trace_kinds.NOTABLE
"""Event kinds shown on the run's timeline (``pfail`` and ``fail``: first per target)."""


def stamp(scenario: model.Scenario | None, seed: int, name: str = "") -> dict[str, Any]:
    """The reproduction stamp: rcsim version, seed, scenario name, file SHA-256 (``None``
    for a bare cluster, which has no file: then ``name`` names it)."""
    return {
        "rcsim": __version__,
        "seed": seed,
        "scenario": scenario.name if scenario is not None else name,
        "source": scenario.source if scenario is not None else None,
        "sha256": scenario.sha256 if scenario is not None else None,
    }


def trace_header(scenario: model.Scenario | None, seed: int, name: str = "") -> dict[str, Any]:
    """The first line of a JSONL trace (``rcsim run --trace`` and the TUI's ``J``)."""
    return {"kind": "header", **stamp(scenario, seed, name)}


# --------------------------------------------------------------------------- timeline


def _fields(event: TraceEvent) -> str:
    kind = event["kind"]
    if kind == "promoted":
        return f"promoted (replaced {event.get('target')}, epoch {event.get('epoch')})"
    if kind == "pfail":
        return f"flags {event.get('target')} PFAIL (no pong for {event.get('delay_ms')} ms)"
    if kind == "fail":
        how = (
            f"{event.get('reports')} of {event.get('quorum')} needed reports"
            if event.get("via") == "quorum"
            else f"told by {event.get('sender')}"
        )
        return f"marks {event.get('target')} FAIL ({how})"
    if kind == "election_started":
        return (
            f"starts an election for {event.get('target')} "
            f"(epoch {event.get('epoch')}, needs {event.get('quorum')} votes)"
        )
    if kind == "vote":
        return f"votes for {event.get('target')} (epoch {event.get('epoch')})"
    if kind == "role":
        if event.get("role") == "master":
            return "is now a master"
        return f"is now a replica of {event.get('master')} ({event.get('reason')})"
    if kind == "cluster_state":
        return f"cluster_state:{event.get('state')}"
    if kind == "update_sent":
        return f"sends UPDATE to {event.get('target')} (about {event.get('about')}, epoch {event.get('epoch')})"
    if kind == "migration":
        return f"migrates to orphaned master {event.get('target')} (was replica of {event.get('previous_master')})"
    if kind == "epoch_collision":
        return f"configEpoch collision with {event.get('target')} at {event.get('epoch')}"
    if kind == "crash":
        return "crashes (power loss)" if event.get("power_loss") else "crashes (kill -9)"
    if kind == "pause":
        return "paused (SIGSTOP)"
    if kind == "resume":
        return "resumed (SIGCONT)"
    if kind == "restart":
        return f"restarts as a {event.get('role')}"
    if kind == "shutdown":
        return "shuts down"
    if kind == "partition":
        return "network partition: " + " | ".join(",".join(g) for g in event.get("groups", []))
    if kind == "cut":
        return f"one-way cut: {','.join(event.get('sources', []))} -/-> {','.join(event.get('targets', []))}"
    if kind == "heal":
        groups = event.get("groups")
        return (
            "network healed"
            if groups is None
            else "healed between " + " | ".join(",".join(g) for g in groups)
        )
    if kind == "failover":
        return f"CLUSTER FAILOVER {str(event.get('mode', '')).upper()} -> {event.get('reply')}"
    if kind == "node_added":
        return f"joins the cluster (MEET via {event.get('via')})"
    if kind == "node_removed":
        return "removed from the cluster"
    if kind == "forget":
        return f"CLUSTER FORGET {event.get('target')} -> {event.get('reply')}"
    return " ".join(f"{k}={v}" for k, v in event.items() if k not in ("t", "kind", "node"))


def timeline(events: Iterable[TraceEvent], limit: int = 200) -> list[str]:
    """Readable lines for the notable events: ``  12.345s  n4  promoted (...)``."""
    lines: list[str] = []
    seen_first: set[tuple[str, str]] = set()
    hidden = 0
    for event in events:
        kind = event["kind"]
        if kind not in NOTABLE:
            continue
        if kind in ("pfail", "fail"):
            key = (kind, str(event.get("target")))
            if key in seen_first:
                continue
            seen_first.add(key)
        if len(lines) >= limit:
            hidden += 1
            continue
        when = f"{event['t'] / 1000:>9.3f}s"
        if kind == "caption":
            lines.append(f"{when}  -- {event.get('text', '')}")
            continue
        who = event.get("node") or ""
        lines.append(f"{when}  {who:<4} {_fields(event)}")
    if hidden:
        lines.append(f"  … {hidden} more notable events (see --trace)")
    return lines


def where_label(result: Result) -> str:
    """``step N`` (from 1), ``end`` for the final checks, ``injection`` for an injected
    action that could not be applied."""
    if result.step is not None:
        return f"step {result.step + 1}"
    return "injection" if result.kind == "action" else "end"


def verdict_line(result: Result) -> str:
    where = where_label(result)
    label = "PASS" if result.passed else "FAIL"
    line = f"{label} {result.at / 1000:>8.3f}s  {where:<8} {result.condition}: {result.expected}"
    if not result.passed:
        line += f"\n      seen instead: {result.observed}   ({result.loc})"
    return line


# --------------------------------------------------------------------------- metrics


def milestones(events: Sequence[TraceEvent], fault: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {"node": fault.node, "fault": fault.kind, "at": fault.t}
    out.update(dict.fromkeys(MILESTONES))
    out["promoted_node"] = None  # documented: null when no replica replaced it
    states = {name: state for name, state in fault.states.items() if name != fault.node}
    promoted_t: int | None = None
    for event in events:
        t = event["t"]
        if t < fault.t:
            continue
        kind = event["kind"]
        target = event.get("target")
        node = event.get("node")
        if kind == "pfail" and target == fault.node and out["first_pfail"] is None:
            out["first_pfail"] = t - fault.t
        elif kind == "fail" and target == fault.node and out["first_fail"] is None:
            out["first_fail"] = t - fault.t
        elif kind == "promoted" and target == fault.node and promoted_t is None:
            promoted_t = t
            out["promoted"] = t - fault.t
            out["promoted_node"] = node
        elif kind == "cluster_state" and node in states:
            states[node] = event.get("state", "fail")
        elif kind in ("crash", "shutdown", "node_removed") and node is not None:
            states.pop(node, None)
        elif kind in ("restart", "node_added") and node is not None and node != fault.node:
            states[node] = "fail"
        if (
            promoted_t is not None
            and out["all_ok"] is None
            and all(s == "ok" for s in states.values())
        ):
            out["all_ok"] = t - fault.t
    return out


def requests_by_outcome(sim: Simulation) -> dict[str, int]:
    dataplane = sim.extras.get("dataplane")
    outcomes = getattr(dataplane, "requests_by_outcome", None) if dataplane is not None else None
    if outcomes is None:
        return dict.fromkeys(REQUEST_OUTCOMES, 0)
    return {str(k): int(v) for k, v in outcomes().items()}


def lost_writes_detail(sim: Simulation) -> dict[str, Any]:
    """``at_risk_writes`` (acknowledged, on no replica yet, at the end) and
    ``lost_writes_detail``: each lost write, who acknowledged it, when, and why (§20.2)."""
    risk = sim.views.write_risk()
    return {
        "at_risk_writes": 0 if risk is None else risk.at_risk,
        "lost_writes_detail": [row_dict(row) for row in sim.views.lost_write_rows()],
    }


def metrics(sim: Simulation, driver: ScenarioDriver) -> dict[str, Any]:
    events = sim.trace.events
    return {
        "lost_writes": lost_writes_count(sim),
        **lost_writes_detail(sim),
        "requests": requests_by_outcome(sim),
        "failovers": [milestones(events, fault) for fault in driver.faults],
        "bus": bus_stats.report(sim.cluster.bus_stats, sim.cluster.names, sim.now - driver.origin),
        **_service(sim, sim.now - driver.origin),
        **local_caches(sim),
        **cache_metrics(sim),
    }


def cache_metrics(sim: Simulation) -> dict[str, Any]:
    """``cache``: the cache-aside clients' figures and the stale-read ledger
    (docs/caching.md); absent when the run has no cache-aside client."""
    plane = sim.extras.get("cache")
    return {} if plane is None else {"cache": plane.metrics()}


def _service(sim: Simulation, elapsed_ms: int) -> dict[str, Any]:
    """With ``cluster.service`` (§28.4): each node's commands, busy share and longest queue."""
    model = getattr(sim.extras.get("dataplane"), "service", None)
    return {} if model is None else {"service": model.report(elapsed_ms)}


def local_caches(sim: Simulation) -> dict[str, Any]:
    """``local_caches``: hits, stale local reads... per client with a local cache (only
    when one has, so other reports keep their shape)."""
    rows = sim.views.local_caches()
    return {"local_caches": [row.as_dict() for row in rows]} if rows else {}


def report(sim: Simulation, driver: ScenarioDriver) -> dict[str, Any]:
    """The JSON report: stamp, verdict, every expectation, metrics."""
    scenario = driver.scenario
    return {
        **stamp(scenario, sim.seed),
        "passed": driver.passed,
        "end_ms": sim.now,
        # steps are numbered from 1, as in the text output and the file's order
        "expectations": [_numbered(r.as_dict()) for r in driver.results],
        "not_reached": [scenario.steps[i].index + 1 for i in driver.not_reached()],
        "errors": list(driver.errors),
        "metrics": metrics(sim, driver),
    }


def _numbered(result: dict[str, Any]) -> dict[str, Any]:
    step = result["step"]
    return {**result, "step": None if step is None else step + 1}


def report_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def tui_command(source: str, seed: int, trace: str | None, at: int | None = None) -> str:
    """The command that opens this run in the TUI at its first failed check (or at the
    start of millisecond ``at``): the trace replayed if one was written, else the
    scenario re-run with its seed (docs/tui.md, "Any run, replayed")."""
    where = "failure" if at is None else f"{at}ms"
    if trace is not None:
        opening = "" if at is None else f" --at {where}"
        return f"rcsim tui --replay {shlex.quote(trace)}{opening}"
    return f"rcsim tui {shlex.quote(source)} --seed {seed} --at {where}"


def junit_xml(sim: Simulation, driver: ScenarioDriver, trace: str | None = None) -> str:
    """JUnit XML: one testsuite per run, one testcase per check (a failed check is a
    ``failure``, an action the run could not apply an ``error``) and one per step the
    run never reached (``skipped``). A failure's message ends with the command that
    opens the run in the TUI there (``trace``: the JSONL the run wrote, if any)."""
    scenario = driver.scenario
    results = driver.results
    errors = sum(1 for r in results if not r.passed and r.kind == "action")
    failures = sum(1 for r in results if not r.passed) - errors
    unreached = driver.not_reached()
    suite = ElementTree.Element(
        "testsuite",
        {
            "name": scenario.name,
            "tests": str(len(results) + len(unreached)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(len(unreached)),
            "time": f"{sim.now / 1000:.3f}",
        },
    )
    props = ElementTree.SubElement(suite, "properties")
    for key, value in stamp(scenario, sim.seed).items():
        ElementTree.SubElement(props, "property", {"name": key, "value": str(value)})
    first_failed = next((r for r in results if not r.passed), None)
    for number, result in enumerate(results, 1):
        where = where_label(result)
        case = ElementTree.SubElement(
            suite,
            "testcase",
            {
                "classname": scenario.source,
                "name": f"{number:03d} {where} {result.kind} {result.condition}: {result.expected}",
                "time": f"{result.at / 1000:.3f}",
                "file": result.loc.split(":", 1)[0],
            },
        )
        if not result.passed:
            tag = "error" if result.kind == "action" else "failure"
            command = tui_command(
                scenario.source, sim.seed, trace, None if result is first_failed else result.at
            )
            failure = ElementTree.SubElement(
                case,
                tag,
                {"message": f"seen instead: {result.observed}; open it in the TUI: {command}"},
            )
            failure.text = (
                f"{result.loc}: expected {result.expected}; seen {result.observed}\n"
                f"Open this run in the TUI at this check: {command}"
            )
    for index in unreached:
        step = scenario.steps[index]
        case = ElementTree.SubElement(
            suite,
            "testcase",
            {
                "classname": scenario.source,
                "name": f"step {index + 1} not reached",
                "time": f"{sim.now / 1000:.3f}",
                "file": str(step.loc).split(":", 1)[0],
            },
        )
        ElementTree.SubElement(
            case, "skipped", {"message": f"the run ended at {sim.now / 1000:.3f}s first"}
        )
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
