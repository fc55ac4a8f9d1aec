"""Running a scenario: the one factory :func:`build` and the :class:`ScenarioDriver`.

The steps run *inside* the simulation as engine events (bound methods with explicit
arguments, never closures), and the driver lives in ``sim.extras["driver"]``, so the
TUI's checkpoints (deep copies of engine, cluster and extras) rewind and replay them
like any other event.

Timing (docs/scenario-format.md): a step starts at ``at`` (absolute), at ``after`` ms
after the previous step *started*, or, with neither, as soon as the previous step has
finished (its ``wait_for`` included); a step whose start has passed starts at once.
``wait_for`` conditions are checked right after the action and then every
:data:`WAIT_POLL_MS` ms of simulated time, so a wait ends up to 10 ms after the
moment its conditions became true; past ``timeout`` the wait fails.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from simulator.actions import ACTIONS as REGISTRY
from simulator.cluster import NodeSpec as ClusterNodeSpec
from simulator.harness.conditions import Check, check
from simulator.scenario import model
from simulator.simulation import DEFAULT_CHECKPOINT_MS, ActionError, Simulation

WAIT_POLL_MS = 10
"""Granularity of ``wait_for``: conditions are re-checked every 10 ms of simulated time."""

NO_CHECKPOINTS = None
"""``checkpoint_ms`` for headless runs that never rewind: no checkpoint is taken at all
(the deep copies cost as much as the run itself at 100 nodes) and ``rewind`` refuses."""

FOREVER_MS = 10**15
"""A time limit no run reaches."""


@dataclass(frozen=True, slots=True)
class Result:
    """One evaluated condition (or a step that could not run).

    ``kind``: ``"expect"`` (a step's expect), ``"wait_for"``, ``"final"`` (the
    scenario's final expect) or ``"action"`` (the step's action failed at run time).
    """

    kind: str
    step: int | None
    condition: str
    passed: bool
    expected: str
    observed: str
    at: int
    loc: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "step": self.step,
            "condition": self.condition,
            "passed": self.passed,
            "expected": self.expected,
            "observed": self.observed,
            "at": self.at,
            "loc": self.loc,
        }


@dataclass(frozen=True, slots=True)
class Fault:
    """A master taken down by a step (kill, pause, shutdown): the origin of milestones."""

    node: str
    kind: str
    t: int
    states: dict[str, str] = field(default_factory=dict)  # every live node's state then


class _Frozen:
    """Holds the immutable scenario; deep copies (checkpoints) share it."""

    def __init__(self, scenario: model.Scenario) -> None:
        self.scenario = scenario

    def __deepcopy__(self, memo: dict[int, Any]) -> _Frozen:
        return self


def action_call(action: model.Action) -> tuple[str, dict[str, Any]]:
    """The simulation verb and argument dict of a scenario action (one vocabulary with
    ``Simulation.inject``: the action registry, :mod:`simulator.actions`)."""
    name = REGISTRY[action.yaml_key].name
    if isinstance(action, model.Kill | model.Pause | model.Resume | model.Restart):
        return name, {"node": action.node}
    if isinstance(action, model.KillMasters):
        return name, {"share": action.share}
    if isinstance(action, model.Shutdown | model.DelNode):
        return name, {"node": action.node}
    if isinstance(action, model.Partition):
        return name, {"groups": [list(g) for g in action.groups]}
    if isinstance(action, model.Cut):
        return name, {"from": list(action.sources), "to": list(action.targets)}
    if isinstance(action, model.Heal):
        groups = None if action.groups is None else [list(g) for g in action.groups]
        return name, {"groups": groups}
    if isinstance(action, model.Failover):
        return name, {"node": action.node, "mode": action.mode}
    if isinstance(action, model.SetConfig):
        return name, {"node": action.node, "settings": dict(action.values)}
    if isinstance(action, model.Forget):
        return name, {
            "node": action.node,
            "on_nodes": None if action.on_nodes is None else list(action.on_nodes),
        }
    if isinstance(action, model.AddNode):
        return name, {"name": action.name, "replica_of": action.replica_of}
    if isinstance(action, model.Write):
        args = {"key": action.key, "value": action.value, "client": action.client}
        return name, args if action.ttl_ms is None else {**args, "ttl": action.ttl_ms}
    if isinstance(action, model.Expire):
        return name, {"key": action.key, "ttl": action.ttl_ms, "client": action.client}
    if isinstance(action, model.Read):
        return name, {"key": action.key, "client": action.client}
    if isinstance(action, model.Publish):
        return name, {
            "channel": action.channel,
            "message": action.message,
            "node": action.node,
            "sharded": action.sharded,
        }
    if isinstance(action, model.Subscribe):
        return name, {
            "channel": action.channel,
            "node": action.node,
            "client": action.client,
            "pattern": action.pattern,
            "sharded": action.sharded,
        }
    if isinstance(action, model.Workload):
        return name, {"client": action.client, "rate": action.rate, "writes": action.writes}
    if isinstance(action, model.Reshard):
        return name, {
            "source": action.source,
            "target": action.target,
            "count": action.count,
            "slots": None if action.slots is None else list(action.slots),
            "pipeline": action.pipeline,
        }
    if isinstance(action, model.Rebalance):
        return name, {
            "weights": dict(action.weights),
            "threshold": action.threshold,
            "use_empty_masters": action.use_empty_masters,
            "pipeline": action.pipeline,
        }
    if isinstance(action, model.Fix) and action.with_unreachable_masters:
        return name, {"with_unreachable_masters": True}
    return name, {}


FAULT_ACTIONS = {"kill": "crash", "pause": "pause", "shutdown": "shutdown"}


class ScenarioDriver:
    """Executes a scenario's steps as engine events and records every check.

    ``results`` grows as the run goes; ``done`` turns true once the final ``expect``
    has been checked at ``end_time``. Everything here is deep-copied with the
    simulation's checkpoints, so a rewind rolls the results back too.
    """

    def __init__(
        self,
        sim: Simulation,
        scenario: model.Scenario,
        until: int | None = None,
        origin: int = 0,
    ) -> None:
        self.sim = sim
        self.origin = origin  # the engine time of the scenario's 0 (harness/fresh.py)
        self._frozen = _Frozen(scenario)
        self.results: list[Result] = []
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self.next_step = 0  # index of the first step not yet started
        self.current: int | None = None  # the step in progress
        self.step_start = origin
        self.previous_start = origin
        self.wait_deadline = 0
        end = until if until is not None else scenario.run_until
        self.end_time: int | None = None if end is None else end + origin
        self.done = False
        self._final_timer: Any = None

    @property
    def scenario(self) -> model.Scenario:
        return self._frozen.scenario

    # ------------------------------------------------------------------ scheduling

    def start(self) -> None:
        if self.end_time is not None:
            self._final_timer = self.sim.engine.schedule_at(self.end_time, self._final)
        self._schedule_injections()
        self._schedule_next()

    def _schedule_injections(self) -> None:
        """Each injection time gets one event at the *start* of its millisecond, before
        that millisecond's other events: where the TUI applied it (tui/model.py)."""
        injections = self.scenario.injections
        first = 0
        while first < len(injections):
            at = (injections[first].at or 0) + self.origin
            last = first
            while last + 1 < len(injections) and injections[last + 1].at == at:
                last += 1
            self.sim.engine.schedule_first(at, self._inject, first, last + 1)
            first = last + 1

    def _schedule_next(self) -> None:
        steps = self.scenario.steps
        engine = self.sim.engine
        if self.next_step >= len(steps):
            if self.end_time is None:
                last = max((i.at or 0 for i in self.scenario.injections), default=0) + self.origin
                self.end_time = max(engine.now, last) + model.Scenario.DEFAULT_TAIL_MS
                self._final_timer = engine.schedule_at(self.end_time, self._final)
            return
        step = steps[self.next_step]
        if step.at is not None:
            when = step.at + self.origin
        elif step.after is not None:
            when = self.previous_start + step.after
        else:
            when = engine.now
        engine.schedule_at(max(when, engine.now), self._begin_step, self.next_step)

    def _begin_step(self, index: int) -> None:
        if self.done:
            return
        sim = self.sim
        step = self.scenario.steps[index]
        self.current = index
        self.next_step = index + 1
        self.previous_start = self.step_start = sim.engine.now
        if step.caption and not _captions_outcome(step):
            sim.trace.emit(sim.engine.now, "caption", text=step.caption, step=index)
        if step.action is not None:
            self._apply(step.action, index)
        if step.wait_for:
            self.wait_deadline = sim.engine.now + step.timeout
            self._poll(index)
        else:
            self._end_step(index)

    def _inject(self, first: int, end: int) -> None:
        """Apply injections ``first..end-1`` (same millisecond), as ``Simulation.inject``
        would: the same verbs, and a caption without a step number. They run after the
        lesson's end too (a session that went on playing)."""
        for injection in self.scenario.injections[first:end]:
            if injection.action is not None:
                self._apply(injection.action, None)
            elif injection.caption is not None:
                self.sim.apply("caption", {"text": injection.caption})

    def _apply(self, action: model.Action, index: int | None) -> None:
        sim = self.sim
        verb, args = action_call(action)
        fault = FAULT_ACTIONS.get(verb)
        if fault is not None:
            node = sim.cluster.nodes.get(args["node"])
            if node is not None and node.is_master and node.alive:
                states = {n.name: n.state for n in sim.cluster.live_nodes()}
                self.faults.append(Fault(node.name, fault, sim.engine.now, states))
        if verb == "partition":
            self._minority_masters(args["groups"])
        states_before = {n.name: n.state for n in sim.cluster.live_nodes()}
        try:
            result = sim.apply(verb, args)
        except ActionError as error:
            message = str(error)
            if message.startswith("unknown action"):
                message = f"the action '{verb}' is not available (no data plane registered it)"
            # The same position in the check and in errors[]: the action's own line.
            where = str(action.loc)
            self._record("action", index, verb, Check(False, f"{verb} succeeds", message), where)
            self.errors.append(f"{action.loc}: {verb}: {message}")
            return
        if verb == "kill-masters":  # each master it killed is a fault (simulator/kill_share.py)
            now = sim.engine.now
            self.faults.extend(Fault(name, "crash", now, states_before) for name in result)

    def _minority_masters(self, groups: list[list[str]]) -> None:
        """A partition is a fault for every slot-serving master cut off from a majority of them."""
        sim = self.sim
        serving = [n for n in sim.cluster.live_nodes() if n.is_master and n.my_slots()]
        majority = len(serving) // 2 + 1
        states = {n.name: n.state for n in sim.cluster.live_nodes()}
        for group in groups:
            members = set(group)
            inside = [n for n in serving if n.name in members]
            if len(inside) < majority:
                for node in inside:
                    self.faults.append(Fault(node.name, "partition", sim.engine.now, states))

    def _poll(self, index: int) -> None:
        """Check the step's ``wait_for``; again in 10 ms, until all hold or the timeout."""
        if self.done or self.current != index:
            return
        sim = self.sim
        step = self.scenario.steps[index]
        checks = [check(sim, c, self.step_start) for c in step.wait_for]
        if all(c.passed for c in checks):
            for condition, outcome in zip(step.wait_for, checks, strict=True):
                self._record("wait_for", index, condition, outcome)
            self._end_step(index)
            return
        if sim.engine.now >= self.wait_deadline:
            for condition, outcome in zip(step.wait_for, checks, strict=True):
                if not outcome.passed:
                    seconds = step.timeout / 1000
                    outcome = Check(
                        False,
                        f"{outcome.expected} (within {seconds:g}s)",
                        f"timed out; {outcome.observed}",
                    )
                self._record("wait_for", index, condition, outcome)
            self._end_step(index)
            return
        sim.engine.schedule(WAIT_POLL_MS, self._poll, index)

    def _end_step(self, index: int) -> None:
        step = self.scenario.steps[index]
        if step.caption and _captions_outcome(step):
            self.sim.trace.emit(self.sim.engine.now, "caption", text=step.caption, step=index)
        for condition in step.expect:
            self._record("expect", index, condition, check(self.sim, condition, self.step_start))
        self.current = None
        self._schedule_next()

    def _final(self) -> None:
        if self.done:
            return
        sim = self.sim
        for condition in self.scenario.expect:
            self._record("final", None, condition, check(sim, condition, 0))
        self.done = True

    def _record(
        self,
        kind: str,
        step: int | None,
        condition: model.Condition | str,
        outcome: Check,
        where: str = "",
    ) -> None:
        if isinstance(condition, str):
            name, loc = condition, where
        else:
            name, loc = condition.yaml_key, str(condition.loc)
        self.results.append(
            Result(
                kind,
                step,
                name,
                outcome.passed,
                outcome.expected,
                outcome.observed,
                self.sim.engine.now,
                loc,
            )
        )

    # ------------------------------------------------------------------ after the run

    def not_reached(self) -> list[int]:
        """Steps the run ended before (or during, for the one in progress)."""
        pending = list(range(self.next_step, len(self.scenario.steps)))
        return ([self.current] if self.current is not None else []) + pending

    def end_known(self) -> bool:
        return self.end_time is not None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def _captions_outcome(step: model.Step) -> bool:
    """A step that only waits explains what it waited for, so its caption is shown when
    the wait ends; any other step's caption goes with its action, when the step starts."""
    return bool(step.wait_for) and step.action is None


def cluster_specs(spec: model.ClusterSpec) -> list[ClusterNodeSpec]:
    """The scenario's nodes as :class:`simulator.cluster.NodeSpec` (creation order kept)."""
    return [
        ClusterNodeSpec(n.name, n.role, tuple(n.slots), n.replica_of, dict(n.config))
        for n in spec.nodes
    ]


def _dataplane_hook(name: str) -> Any:
    """An optional function of :mod:`simulator.dataplane` (absent: no data plane)."""
    package = importlib.import_module("simulator.dataplane")
    return getattr(package, name, None)


def build(
    scenario: model.Scenario,
    seed: int | None = None,
    *,
    until: int | None = None,
    checkpoint_ms: int | None = DEFAULT_CHECKPOINT_MS,
    cron_phase_spread_ms: int = 100,
) -> Simulation:
    """The simulation of ``scenario`` (``seed`` overrides the file's), steps scheduled.

    ``until`` overrides ``run_until``. The driver is ``sim.extras["driver"]``; run the
    engine (``sim.run_until`` / ``sim.step``) and the steps happen at their times.

    The data plane plugs in through two optional functions of :mod:`simulator.dataplane`:
    ``make_dataplane(scenario) -> DataPlane`` (the cluster's hooks object, given to the
    Simulation) and ``install(sim, scenario)`` (registers its actions with
    ``sim.register_action`` and sets ``sim.extras["dataplane"]``, starts the clients).
    """
    sim = new_simulation(
        scenario, seed, checkpoint_ms, cron_phase_spread_ms, scenario.cluster.start != "meet"
    )
    start_scenario(sim, scenario, until)
    return sim


def new_simulation(
    scenario: model.Scenario,
    seed: int | None,
    checkpoint_ms: int | None,
    cron_phase_spread_ms: int,
    converged: bool,
) -> Simulation:
    """The scenario's cluster, network and data plane hooks, nothing started yet."""
    latency = scenario.network.latency or (0.0, 0.0)
    make_dataplane = _dataplane_hook("make_dataplane")
    return Simulation(
        cluster_specs(scenario.cluster),
        config=dict(scenario.cluster.config),
        seed=scenario.seed if seed is None else seed,
        latency_ms=(float(latency[0]), float(latency[1])),
        loss=scenario.network.loss,
        checkpoint_ms=checkpoint_ms,
        cron_phase_spread_ms=cron_phase_spread_ms,
        dataplane=None if make_dataplane is None else make_dataplane(scenario),
        converged=converged,
        gossip_rule=None if scenario.cluster.gossip == "redis-7.0" else scenario.cluster.gossip,
        topology=scenario.cluster.topology,
    )


def start_scenario(
    sim: Simulation, scenario: model.Scenario, until: int | None, origin: int = 0
) -> None:
    """Install the data plane (its clients start now) and schedule the steps, the
    scenario's time 0 being the engine's ``origin``."""
    install = _dataplane_hook("install")
    if install is not None:
        install(sim, scenario)
    driver = ScenarioDriver(sim, scenario, until, origin)
    sim.extras["driver"] = driver
    driver.start()
    sim.restart_checkpoints()


def driver_of(sim: Simulation) -> ScenarioDriver:
    driver = sim.extras.get("driver")
    if not isinstance(driver, ScenarioDriver):
        raise ValueError("this simulation was not built from a scenario")
    return driver


def run_to_end(sim: Simulation) -> ScenarioDriver:
    """Run ``sim`` (made by :func:`build`) until the final ``expect`` has been checked."""
    while True:
        driver = driver_of(sim)
        if driver.done:
            return driver
        if driver.end_time is not None:
            sim.run_until(max(driver.end_time, sim.now))
        else:
            # Step by step only while the end is unknown (it depends on the waits).
            sim.run_until_condition(driver.end_known, FOREVER_MS)


def run(
    scenario: model.Scenario,
    seed: int | None = None,
    *,
    until: int | None = None,
    cron_phase_spread_ms: int = 100,
    trace_bus: bool = False,
) -> Simulation:
    """Build and run ``scenario`` headless (no checkpoints); the driver holds the results.
    ``trace_bus`` adds a ``bus_message`` event per bus packet (docs/trace.md)."""
    sim = build(
        scenario,
        seed,
        until=until,
        checkpoint_ms=NO_CHECKPOINTS,
        cron_phase_spread_ms=cron_phase_spread_ms,
    )
    sim.set_bus_trace(trace_bus)
    run_to_end(sim)
    return sim
