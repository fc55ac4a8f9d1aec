"""Building a session for the TUI: a bundled lesson or scenario file, or a bare cluster."""

from __future__ import annotations

from pathlib import Path

from simulator.harness.runner import build
from simulator.scenario import load_scenario, resolve
from simulator.simulation import Simulation
from tui.model import Session

DEFAULT_LESSON = "master-crash"


def scenario_session(
    name: str | None = None, seed: int | None = None, playing: bool = True
) -> Session:
    """A lesson or scenario file (``ScenarioError`` if it is invalid), steps scheduled."""
    scenario = load_scenario(name or DEFAULT_LESSON)
    source, text, _ = resolve(name or DEFAULT_LESSON)
    sim = build(scenario, seed)
    sim.set_bus_trace()  # the message view draws the bus_message events
    return Session(
        sim,
        name=Path(source).stem,
        scenario=scenario,
        playing=playing,
        source_text=text,
    )


def cluster_session(
    masters: int = 3,
    replicas: int = 1,
    seed: int = 0,
    node_timeout: int = 2000,
    playing: bool = True,
) -> Session:
    """A bare cluster with no lesson (for experiments and benchmarks). Its
    ``cluster-node-timeout`` is 2 s, not Redis's 15 s, so failures show within seconds;
    the header says so (the session's name)."""
    config = {"cluster-node-timeout": node_timeout}
    sim = Simulation(masters=masters, replicas=replicas, config=config, seed=seed)
    sim.set_bus_trace()  # the message view draws the bus_message events
    spec = {"masters": masters, "replicas": replicas, "config": config}
    name = f"{masters}x{replicas + 1} NT={node_timeout / 1000:g}s"
    return Session(sim, name=name, playing=playing, cluster_spec=spec)
