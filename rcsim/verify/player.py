"""Plays a scenario's steps on a real cluster, with the runner's timing rules.

A step starts at ``at`` (ms since the scenario's time 0), ``after`` ms after the previous
step started, or, with neither, once the previous step has finished; then its action,
then its ``wait_for`` (checked every 20 ms, the poll period, until all hold or the
timeout), then its ``expect``. The run ends at ``run_until`` (default: 5 s after the last
step), where the final ``expect`` is checked. A master taken down (kill, pause, shutdown,
or cut off in a minority partition) is a fault: the origin of the milestones, exactly as
rcsim's ScenarioDriver records them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rcsim.verify import figures, victims
from rcsim.verify.cacheclients import cache_figures
from rcsim.verify.conditions import World, check
from rcsim.verify.events import Event
from rcsim.verify.playable import unobservable
from rcsim.verify.realcluster import RealCluster
from rcsim.verify.resp import RespError
from rcsim.verify.scenario_api import FAULT_ACTIONS, Fault, model

WAIT_POLL_S = 0.02


@dataclass
class RealRun:
    """What one real run produced."""

    events: list[Event] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    step_starts: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    end_ms: float = 0.0
    lost_writes: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    world: World | None = None
    figures: dict[str, float | None] = field(default_factory=dict)


class Player:
    """Drives one :class:`RealCluster` through ``scenario``'s steps."""

    def __init__(self, cluster: RealCluster, scenario: model.Scenario, seed: int = 1) -> None:
        self.cluster = cluster
        self.scenario = scenario
        self.run = RealRun()
        self.kill_draw = victims.stream(seed)  # rcsim's kill-masters stream of this seed

    # ------------------------------------------------------------------ the world

    def world(self) -> World:
        cluster = self.cluster
        cluster.refresh_events()
        return World(
            cluster.observations.views(),
            cluster.status(),
            cluster.log.events(),
            cluster.lost_writes,
            cluster.pubsub.deliveries.count,
            cluster.probe,
            cluster.stale,
            cluster.caching.figure,
            cluster.now(),
        )

    def _sleep_until(self, t_ms: float) -> None:
        while (delay := (t_ms - self.cluster.now()) / 1000) > 0:
            time.sleep(min(delay, 0.05))

    def _record(self, kind: str, step: int | None, condition: model.Condition, start: int) -> bool:
        reason = unobservable(condition)
        if reason is not None:
            passed, expected, observed = False, condition.yaml_key, reason
        else:
            passed, expected, observed = check(self.world(), condition, start)
        self.run.results.append(
            {
                "kind": kind,
                "step": step,
                "condition": condition.yaml_key,
                "passed": passed,
                "observable": reason is None,
                "expected": expected,
                "observed": observed,
                "at": round(self.cluster.now()),
                "loc": str(condition.loc),
            }
        )
        return passed

    # ------------------------------------------------------------------ playing

    def play(self) -> RealRun:
        steps = self.scenario.steps
        end = self.scenario.run_until
        previous_start = 0.0
        for step in steps:
            if step.at is not None:
                when = float(step.at)
            elif step.after is not None:
                when = previous_start + step.after
            else:
                when = self.cluster.now()
            if end is not None and when >= end:
                break
            self._sleep_until(when)
            start = previous_start = self.cluster.now()
            self.run.step_starts[step.index] = start
            if step.action is not None:
                self._apply(step.index, step.action)
            if step.wait_for:
                self._wait(step, round(start), end)
            for condition in step.expect:
                self._record("expect", step.index, condition, round(start))
        if end is None:
            end = round(self.cluster.now()) + model.Scenario.DEFAULT_TAIL_MS
        self._sleep_until(end)
        if figures.idle(self.scenario):
            ms = self.cluster.now()
            self.run.figures.update(
                figures.bus_figures_real(self.cluster.bus_at_start, self.cluster.bus_counters(), ms)
            )
        self.cluster.stop_clients()
        self.run.figures.update(cache_figures(self.cluster.caching.metrics()))
        if self.cluster.with_stats:
            time.sleep(2 * WAIT_POLL_S)  # one more poll of INFO stats after the last command
            self.run.figures.update(figures.key_figures(self.scenario, self.cluster.counters()))
        self.run.lost_writes = self.cluster.lost_writes() if self.scenario.clients else 0
        self.run.requests = self.cluster.requests_by_outcome()
        for condition in self.scenario.expect:
            self._record("final", None, condition, 0)
        self.run.end_ms = self.cluster.now()
        self.run.world = self.world()
        self.run.events = list(self.run.world.events)
        self.run.figures.update(figures.stale_figures(self.run.results))
        return self.run

    def _wait(self, step: model.Step, start: int, end: int | None) -> None:
        deadline = start + step.timeout
        if end is not None:
            deadline = min(deadline, end)
        while True:
            world = self.world()
            if all(check(world, c, start)[0] for c in step.wait_for):
                break
            if self.cluster.now() >= deadline:
                break
            time.sleep(WAIT_POLL_S)
        for condition in step.wait_for:
            self._record("wait_for", step.index, condition, start)

    def _fault(self, node: str, kind: str, t: float) -> None:
        world = self.world()
        view = world.views.get(node)
        if view is None or view.role() != "master" or world.status.get(node) == "dead":
            return
        states = {n: world.views[n].state for n in world.alive()}
        self.run.faults.append(Fault(node, kind, round(t), states))

    def _minority_masters(self, groups: tuple[tuple[str, ...], ...], t: float) -> None:
        world = self.world()
        serving = [
            n
            for n in world.alive()
            if world.views[n].role() == "master" and world.views[n].my_slots()
        ]
        majority = len(serving) // 2 + 1
        states = {n: world.views[n].state for n in world.alive()}
        for group in groups:
            inside = [n for n in serving if n in group]
            if len(inside) < majority:
                self.run.faults.extend(Fault(n, "partition", round(t), states) for n in inside)

    def _apply(self, index: int, action: model.Action) -> None:
        cluster = self.cluster
        verb = action.yaml_key
        t = cluster.now()
        try:
            node = getattr(action, "node", None)
            if verb in FAULT_ACTIONS and isinstance(node, str):
                self._fault(node, FAULT_ACTIONS[verb], t)
            if isinstance(action, model.KillMasters):
                self._kill_masters(action.share, t)
                return
            if isinstance(action, model.Forget):
                self._forget(action, t)
                return
            fields = self._play(action)
            where = fields.pop("node", None)  # pub/sub: the node it went to
            if where is None:
                where = node if isinstance(node, str) else getattr(action, "name", None)
            cluster.log.add(t, _EVENT_OF.get(verb, verb), where, **fields)
        except Exception as error:  # a refused action fails the run, as in rcsim
            message = f"{action.loc}: {verb}: {error}"
            self.run.errors.append(message)
            self.run.results.append(
                {
                    "kind": "action",
                    "step": index,
                    "condition": verb,
                    "passed": False,
                    "observable": True,
                    "expected": f"{verb} succeeds",
                    "observed": str(error),
                    "at": round(t),
                    "loc": str(action.loc),
                }
            )

    def _kill_masters(self, share: float, t: float) -> None:
        """rcsim's victims for this seed (rcsim.verify.victims), each killed as ``kill``
        kills and recorded as rcsim records them: a fault and a ``crash`` each."""
        world = self.world()
        order = [spec.name for spec in self.scenario.cluster.nodes]
        order += [n for n in self.cluster.nodes if n not in order]  # added nodes, in order
        chosen = victims.victims(
            victims.candidates(order, world.views, world.status), share, self.kill_draw
        )
        states = {n: world.views[n].state for n in world.alive()}
        self.run.faults.extend(Fault(name, "crash", round(t), states) for name in chosen)
        for name in chosen:
            self.cluster.nodes[name].kill()
            self.cluster.log.add(t, "crash", name)

    def _forget(self, action: model.Forget, t: float) -> None:
        """``CLUSTER FORGET <ID>`` on each node, logged per node as rcsim logs it."""
        nodes = self.cluster.nodes
        node_id = nodes[action.node].node_id
        on = (
            list(action.on_nodes)
            if action.on_nodes is not None
            else [n for n in nodes if n != action.node]
        )
        for name in on:
            if nodes[name].status != "running":
                reply = "(not running)"
            else:
                try:
                    reply = str(nodes[name].call("CLUSTER", "FORGET", node_id, timeout=2.0))
                except RespError as error:  # the text without the dash: "ERR Can't ..."
                    reply = str(error)
            self.cluster.log.add(t, "forget", name, target=action.node, reply=reply)

    def _play(self, action: model.Action) -> dict[str, Any]:
        cluster = self.cluster
        if isinstance(action, model.Kill):
            cluster.nodes[action.node].kill()
        elif isinstance(action, model.Pause):
            cluster.nodes[action.node].pause()
        elif isinstance(action, model.Resume):
            cluster.nodes[action.node].resume()
        elif isinstance(action, model.Restart):
            cluster.nodes[action.node].restart()
        elif isinstance(action, model.Shutdown):
            cluster.nodes[action.node].shutdown()
        elif isinstance(action, model.Partition):
            self._minority_masters(action.groups, cluster.now())
            assert cluster.firewall is not None
            cluster.firewall.partition([cluster.hosts(g) for g in action.groups])
            return {"groups": [list(g) for g in action.groups]}
        elif isinstance(action, model.Cut):
            assert cluster.firewall is not None
            cluster.firewall.cut(cluster.hosts(action.sources), cluster.hosts(action.targets))
            return {"sources": list(action.sources), "targets": list(action.targets)}
        elif isinstance(action, model.Heal):
            assert cluster.firewall is not None
            groups = None if action.groups is None else [cluster.hosts(g) for g in action.groups]
            cluster.firewall.heal(groups)
            return {"groups": None if action.groups is None else [list(g) for g in action.groups]}
        elif isinstance(action, model.Failover):
            return {"mode": action.mode, "reply": cluster.failover(action.node, action.mode)}
        elif isinstance(action, model.SetConfig):
            cluster.set_config(action.node, action.values)
        elif isinstance(action, model.Reshard) and action.slots is not None:
            cluster.run_slot_move(action)
        elif isinstance(action, model.Reshard | model.Rebalance | model.Fix):
            cluster.run_cli_job(action.yaml_key, cluster.redis_cli_args(action))
        elif isinstance(action, model.Write):
            workload = cluster.workload(action.client)
            outcome, _ = workload.command(True, action.key, action.value, action.ttl_ms)
            return {"outcome": outcome}
        elif isinstance(action, model.Read):
            outcome, reply = cluster.workload(action.client).command(False, action.key)
            return {"outcome": outcome, "value": reply if isinstance(reply, str) else None}
        elif isinstance(action, model.Workload):
            cluster.workload(action.client).set(action.rate, action.writes)
        elif isinstance(action, model.Subscribe):
            return cluster.pubsub.subscribe(action)
        elif isinstance(action, model.Publish):
            return cluster.pubsub.publish(action)
        elif isinstance(action, model.AddNode):
            cluster.add_node(action)
        elif isinstance(action, model.DelNode):
            cluster.del_node(action.node)
        else:
            raise RuntimeError(f"'{action.yaml_key}' cannot be played on a real cluster")
        return {}


_EVENT_OF = {
    "kill": "crash",
    "add-node": "node_added",
    "del-node": "node_removed",
    "set-config": "set_config",
}
"""Trace kinds of actions whose verb differs from rcsim's event name."""
