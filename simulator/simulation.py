"""The one facade the CLI, the TUI and the tests drive: build, run, inject, rewind.

Rewind uses periodic checkpoints (the model pickled, sharing the append-only trace:
simulator/checkpoints.py; in a forked child in the TUI, :meth:`Simulation.checkpoint_in_background`)
plus deterministic replay: restoring the last checkpoint at or
before ``t`` and running forward re-applies each recorded injection after exactly
the same number of engine events as the first time, so the same seed gives the
same past. Injecting after a rewind forks the timeline: the injections recorded
after that moment are dropped (RaftScope's ``F``).

A headless run never rewinds: built with ``checkpoint_ms=None`` the simulation takes no
checkpoint at all (not even the one at time 0; a pickle of a 100-node cluster costs
as much as a second or two of its simulated time) and :meth:`Simulation.rewind` refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.actions import ACTIONS
from simulator.bus_trace import BusTap
from simulator.checkpoints import FORKED, INLINE, CheckpointLost, Snapshot
from simulator.cluster import ClusterError, DataPlane, NodeSpec, standard_topology
from simulator.engine import Engine
from simulator.kill_share import choose_masters
from simulator.standalone import cluster_class
from simulator.trace import Trace
from simulator.views import Views

DEFAULT_CHECKPOINT_MS = 5_000
CHECKPOINT_MS_PER_NODE = 100
"""With the default interval, a cluster of more than 50 nodes checkpoints every
``100 ms × nodes`` instead (10 s at 100 nodes, 100 s at 1,000): a checkpoint taken in
this process costs about as much as a few simulated seconds of the same cluster (both
grow as nodes²), and a rewind replays at most that much."""


@dataclass(frozen=True, slots=True)
class Injection:
    """An action applied at a simulated time, after ``events`` engine events had run."""

    t: int
    events: int
    action: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Checkpoint:
    t: int
    trace_len: int
    injections: int
    snapshot: Snapshot


class RewindError(ValueError):
    """A rewind asked of a simulation built without checkpoints (``checkpoint_ms=None``)."""


class ActionError(ValueError):
    """An action that cannot be applied (unknown node, refused operation, bad arguments)."""


ActionHandler = Callable[..., Any]


class Simulation:
    """Engine + cluster (+ data plane) + trace, with actions, checkpoints and rewind."""

    def __init__(
        self,
        specs: Sequence[NodeSpec] | None = None,
        *,
        masters: int = 3,
        replicas: int = 1,
        config: dict[str, Any] | None = None,
        seed: int = 0,
        latency_ms: tuple[float, float] = (0.0, 0.0),
        loss: float = 0.0,
        dataplane: DataPlane | None = None,
        converged: bool = True,
        checkpoint_ms: int | None = DEFAULT_CHECKPOINT_MS,
        cron_phase_spread_ms: int = 100,
        gossip_rule: str | None = None,
        topology: str = "cluster",
    ) -> None:
        self.seed = seed
        self.engine = Engine(seed)
        self.trace = Trace()
        self.specs = list(specs) if specs is not None else standard_topology(masters, replicas)
        self.topology = topology  # "cluster" or "standalone" (simulator/standalone.py)
        self.cluster = cluster_class(topology)(
            self.engine,
            self.trace,
            self.specs,
            config,
            dataplane=dataplane,
            converged=converged,
            cron_phase_spread_ms=cron_phase_spread_ms,
            gossip_rule=gossip_rule,
        )
        self.cluster.set_latency(*latency_ms)
        self.cluster.set_loss(loss)
        self.injections: list[Injection] = []
        self._replayed = 0  # how many of self.injections are applied on the current timeline
        # None: a headless run, no checkpoints and no rewind (``checkpoint_ms`` reads 0).
        self.rewindable = checkpoint_ms is not None
        if checkpoint_ms == DEFAULT_CHECKPOINT_MS:
            checkpoint_ms = max(checkpoint_ms, CHECKPOINT_MS_PER_NODE * len(self.specs))
        if checkpoint_ms is not None and checkpoint_ms <= 0:
            raise ValueError(f"checkpoint_ms must be positive or None, not {checkpoint_ms}")
        self.checkpoint_ms: int = checkpoint_ms or 0
        self._checkpoints: list[Checkpoint] = []
        self._next_checkpoint = 0  # the next checkpoint time due (simulated ms)
        self.checkpoint_mode = INLINE  # or FORKED (checkpoint_in_background)
        self.checkpoints_skipped = 0  # due while a forked child still wrote the last one
        self._actions: dict[str, ActionHandler] = {}
        self.extras: dict[str, Any] = {}  # model objects owned by add-ons (e.g. a scenario driver)
        self.views = Views(self)  # the read-only seam UIs use (simulator/views/)
        self.bus_trace = False  # bus_message events (set_bus_trace)
        # The first checkpoint is taken when the model first moves (or is rewound, or
        # its checkpoints are asked for), not here: a TUI turns on forked checkpoints
        # after building, and a 1,000-node model pickled in this process cost ~2 GiB
        # of RSS for the session's whole life (_first_checkpoint).

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> int:
        return self.engine.now

    def step(self) -> bool:
        """Run one event (or apply one recorded injection that is due)."""
        self._first_checkpoint()
        engine = self.engine
        while True:
            if self._due_injection():
                return True
            next_time = engine.peek()
            if next_time is None:
                return False
            if not self.rewindable or self._next_checkpoint > next_time:
                return engine.step()
            # Checkpoints due first; they run the events up to their time (maybe the one
            # peeked), so look again: two checkpoint times can fall between two events.
            self._checkpoint_until(next_time)

    def run_until(self, t: int) -> None:
        """Advance to simulated time ``t`` (ms), taking checkpoints and replaying injections."""
        self._run_to(t, inclusive=True)

    def run_events(self, t: int, limit: int) -> bool:
        """:meth:`run_until` ``(t)`` but at most ``limit`` events (checkpoints and injections
        as there): ``True`` when it reached ``t``, ``False`` when it stopped after ``limit``
        events, perhaps inside a millisecond, so a caller with a deadline can read the
        clock between two calls (the TUI's slices, tui/model.py). The engine's own loop
        while no checkpoint or injection falls at or before ``t``; when one does (once a
        checkpoint interval, or a replayed injection), :meth:`run_until` whole."""
        if t < self.engine.now:
            raise ValueError(f"cannot run back to {t} ms (now {self.engine.now} ms); use rewind")
        self._first_checkpoint()
        injected = self._replayed < len(self.injections) and self.injections[self._replayed].t <= t
        if injected or (self.rewindable and self._next_checkpoint <= t):
            self.run_until(t)  # rare (a checkpoint time, a replayed injection): whole
            return True
        return self.engine.run_events(t, limit)

    def _run_to(self, t: int, inclusive: bool) -> None:
        if t < self.engine.now:
            raise ValueError(f"cannot run back to {t} ms (now {self.engine.now} ms); use rewind")
        self._first_checkpoint()
        while self._replayed < len(self.injections) and (
            self.injections[self._replayed].t < t
            or (inclusive and self.injections[self._replayed].t == t)
        ):
            injection = self.injections[self._replayed]
            self._checkpoint_until(injection.t)
            while self.engine.events_run < injection.events and self.engine.step():
                pass
            if self.engine.now < injection.t:
                self.engine.advance_clock(injection.t)
            self._due_injection()
        self._checkpoint_until(t)
        if not inclusive and self._replayed < len(self.injections):
            injection = self.injections[self._replayed]
            if injection.t == t:
                # Stop exactly where that injection was made, so a fork diverges from there.
                while self.engine.events_run < injection.events and self.engine.step():
                    pass
                self.engine.advance_clock(t)
                return
        self.engine.run_until(t)

    def run_for(self, ms: int) -> None:
        self.run_until(self.engine.now + ms)

    def run_until_condition(self, predicate: Callable[[], bool], limit_ms: int) -> bool:
        """Run until ``predicate()`` holds or simulated time reaches ``limit_ms`` (absolute)."""
        while True:
            if predicate():
                return True
            next_time = self.engine.peek()
            if next_time is None or next_time > limit_ms:
                self.run_until(max(limit_ms, self.engine.now))
                return predicate()
            self.step()

    def _due_injection(self) -> bool:
        """Apply the next recorded injection if the timeline has reached its position."""
        if self._replayed >= len(self.injections):
            return False
        injection = self.injections[self._replayed]
        if self.engine.events_run < injection.events:
            return False
        if self.engine.now < injection.t:
            next_time = self.engine.peek()
            if next_time is not None and next_time < injection.t:
                return False
            self.engine.advance_clock(injection.t)
        self._replayed += 1
        self._apply(injection.action, injection.args)
        return True

    def _checkpoint_until(self, t: float) -> None:
        """Take the checkpoints due at or before ``t`` (every ``checkpoint_ms`` of simulated
        time; one due while a forked child still writes the last is skipped: a rewind
        then replays a little further)."""
        if not self.rewindable:
            return
        while self._next_checkpoint <= t:
            self.engine.run_until(self._next_checkpoint)
            if self._checkpoints[-1].snapshot.busy:
                self.checkpoints_skipped += 1
                self._next_checkpoint += self.checkpoint_ms
            else:
                self._take_checkpoint()

    # ------------------------------------------------------------------ checkpoints and rewind

    def checkpoint_in_background(self, on: bool = True) -> None:
        """Pickle each checkpoint in a forked child while this process plays on (what the
        TUI does, so a key never waits for one), instead of in this process inside the
        step that reaches its time (the default); simulator/checkpoints.py. Rewind gives
        the same past either way."""
        self.checkpoint_mode = FORKED if on else INLINE
        self._first_checkpoint()

    def _first_checkpoint(self) -> None:
        """Take the first checkpoint if it is still due (at build, or after
        :meth:`restart_checkpoints`): before the model moves, so it is the model as built.
        Forked (the TUI), this process waits for the child and checks what it wrote:
        every rewind falls back on the first checkpoint, so it must not be lost (a model
        that does not pickle gets the deep copy instead, as in this process). Forked, the
        pickler's memo and the temporaries it keeps alive (about 1.5 GiB at 1,000 nodes)
        live in the child and die with it; in this process they left the heap that much
        larger for the whole session (issue 12, docs/benchmarks.md)."""
        if not self.rewindable or self._checkpoints:
            return
        self._take_checkpoint()
        first = self._checkpoints[0]
        state = {"engine": self.engine, "cluster": self.cluster, "extras": self.extras}
        first.snapshot = first.snapshot.kept(state, self._shared())

    def _take_checkpoint(self) -> None:
        if not self.rewindable:
            return
        if self._checkpoints and self._checkpoints[-1].t == self.engine.now:
            return
        state = {"engine": self.engine, "cluster": self.cluster, "extras": self.extras}
        snapshot = Snapshot.take(state, self._shared(), self.checkpoint_mode)
        self._checkpoints.append(
            Checkpoint(self.engine.now, len(self.trace), self._replayed, snapshot)
        )
        self._next_checkpoint = self.engine.now + self.checkpoint_ms

    def _shared(self) -> dict[str, object]:
        """What a checkpoint refers to and never copies: this object and the trace."""
        return {"simulation": self, "trace": self.trace}

    def restart_checkpoints(self) -> None:
        """Forget every checkpoint; the next one is the model as it is now (after an
        add-on put its objects in ``extras`` or scheduled its events at build time, so
        rewinding to 0 keeps them), taken before it moves (:meth:`_first_checkpoint`)."""
        self._drop_checkpoints(0)
        self._next_checkpoint = self.engine.now

    def _drop_checkpoints(self, start: int) -> None:
        for checkpoint in self._checkpoints[start:]:
            checkpoint.snapshot.close()
        del self._checkpoints[start:]

    def checkpoint_times(self) -> list[int]:
        self._first_checkpoint()
        return [c.t for c in self._checkpoints]

    def checkpoint_bytes(self) -> int:
        """Bytes the checkpoints keep (pickles; a forked child still writing counts 0)."""
        self._first_checkpoint()
        return sum(c.snapshot.size() for c in self._checkpoints)

    def rewind(self, t: int) -> None:
        """Go back to simulated time ``t`` (0 ≤ t ≤ now), before any injection made at ``t``.

        Running forward again replays the same past; injecting now forks it.
        Raises :class:`RewindError` on a simulation built with ``checkpoint_ms=None``.
        """
        if not self.rewindable:
            raise RewindError(
                "this simulation keeps no checkpoints (built with checkpoint_ms=None for a "
                "headless run), so it cannot rewind; build it with checkpoint_ms set to rewind"
            )
        if t < 0 or t > self.engine.now:
            raise ValueError(f"can only rewind to 0..{self.engine.now} ms, not {t}")
        self._first_checkpoint()
        index = max(i for i, c in enumerate(self._checkpoints) if c.t <= t)
        while True:
            checkpoint = self._checkpoints[index]
            try:
                restored = checkpoint.snapshot.restore(self._shared())
                break
            except CheckpointLost:
                # A forked child failed to write it (the first checkpoint is checked
                # when taken, _first_checkpoint): an earlier one and a longer replay.
                index -= 1
        self._drop_checkpoints(index + 1)
        self._next_checkpoint = checkpoint.t + self.checkpoint_ms
        self.engine = restored["engine"]
        self.cluster = restored["cluster"]
        self.extras = restored["extras"]
        self.trace.truncate(checkpoint.trace_len)
        self.set_bus_trace(self.bus_trace)  # a checkpoint taken before it was turned on
        self._replayed = checkpoint.injections
        self._run_to(t, inclusive=False)

    def set_bus_trace(self, on: bool = True) -> None:
        """Trace every bus packet as a ``bus_message`` event (simulator/bus_trace.py);
        off by default. It survives rewinds; turning it on changes no other event."""
        self.bus_trace = on
        self.cluster.tcp.bus_tap = BusTap(self.trace) if on else None

    # ------------------------------------------------------------------ actions

    def register_action(self, name: str, handler: ActionHandler) -> None:
        """Add a verb (the data plane's write, reshard, ...); ``handler(sim, **args)``.

        The verb must be in the action registry (:mod:`simulator.actions`)."""
        if name not in ACTIONS:
            raise ValueError(f"'{name}' is not a registered action (simulator.actions)")
        self._actions[name] = handler

    def has_action(self, name: str) -> bool:
        """Whether an add-on registered the verb ``name`` (built-in verbs are not listed)."""
        return name in self._actions

    @property
    def applied_injections(self) -> int:
        """How many of :attr:`injections` the current timeline has applied (fewer after
        a rewind, until replay reaches them)."""
        return self._replayed

    def inject(self, action: str, **args: Any) -> Any:
        """Apply ``action`` now and record it; after a rewind this forks the timeline."""
        del self.injections[self._replayed :]
        self._first_checkpoint()
        result = self._apply(action, args)
        self.injections.append(
            Injection(self.engine.now, self.engine.events_run, action, dict(args))
        )
        self._replayed = len(self.injections)
        return result

    def apply(self, action: str, args: dict[str, Any]) -> Any:
        """Apply ``action`` now without recording it (for events already in the model,
        e.g. a scenario step scheduled in the engine, which checkpoints replay)."""
        return self._apply(action, args)

    def _apply(self, action: str, args: dict[str, Any]) -> Any:
        handler = self._actions.get(action)
        core = None if handler is not None else CLUSTER_VERBS.get(action)
        if handler is None and core is None:
            raise ActionError(f"unknown action '{action}'")
        _check_arguments(action, args)
        try:
            return handler(self, **args) if handler is not None else core(self, args)  # type: ignore[misc]
        except (ClusterError, ValueError) as error:
            raise ActionError(str(error)) from None
        except KeyError as error:
            raise ActionError(f"{action}: missing argument {error}") from None


def _check_arguments(action: str, args: dict[str, Any]) -> None:
    """Refuse arguments the registry does not list for ``action``, and missing required ones."""
    spec = ACTIONS[action]
    unknown = [name for name in args if name not in spec.arg_names]
    if unknown:
        known = ", ".join(spec.arg_names) or "none"
        raise ActionError(f"{action}: unknown argument '{unknown[0]}' (arguments: {known})")
    for name in spec.required:
        if name not in args:
            raise ActionError(f"{action}: missing argument '{name}'")


# ---------------------------------------------------------------------- the cluster's verbs
# One function per cluster action of the registry (simulator.actions); they read
# ``sim.cluster`` at call time, so they keep working after a rewind.

CoreVerb = Callable[[Simulation, dict[str, Any]], Any]


def _kill(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.kill(args["node"], power_loss=bool(args.get("power_loss", False)))


def _kill_masters(sim: Simulation, args: dict[str, Any]) -> list[str]:
    """The masters killed (simulator/kill_share.py chooses them from the seed)."""
    nodes = list(sim.cluster.nodes.values())
    victims = choose_masters(nodes, float(args["share"]), sim.engine.rng("kill-masters"))
    for name in victims:
        sim.cluster.kill(name)
    return victims


def _pause(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.pause(args["node"])


def _resume(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.resume(args["node"])


def _restart(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.restart(args["node"])


def _shutdown(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.shutdown(args["node"])


def _partition(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.partition(args["groups"])


def _cut(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.cut(args["from"], args["to"])


def _heal(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.heal(args.get("groups"))


def _failover(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.failover(args["node"], args.get("mode", "default"))


def _add_node(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.add_node(args.get("name"), args.get("replica_of")).name


def _del_node(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.del_node(args["node"])


def _forget(sim: Simulation, args: dict[str, Any]) -> Any:
    return sim.cluster.forget(args["node"], args.get("on_nodes"))


def _set_config(sim: Simulation, args: dict[str, Any]) -> None:
    settings = dict(args.get("settings", {}))
    for directive, value in settings.items():
        sim.cluster.set_config(args.get("node", "all"), directive, value)


def _caption(sim: Simulation, args: dict[str, Any]) -> None:
    sim.trace.emit(sim.engine.now, "caption", text=str(args.get("text", "")))


CLUSTER_VERBS: dict[str, CoreVerb] = {
    "kill": _kill,
    "kill-masters": _kill_masters,
    "pause": _pause,
    "resume": _resume,
    "restart": _restart,
    "shutdown": _shutdown,
    "partition": _partition,
    "cut": _cut,
    "heal": _heal,
    "failover": _failover,
    "add-node": _add_node,
    "del-node": _del_node,
    "forget": _forget,
    "set-config": _set_config,
    "caption": _caption,
}
"""The handlers of the registry's ``owner="cluster"`` actions (a test checks they match)."""
