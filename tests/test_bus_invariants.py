"""Invariants over random fault schedules (hypothesis), as the cluster-bus issue states them.

After any sequence of crashes, pauses, partitions, cuts and heals, once every fault is
healed and 10·NT have passed with a majority of masters alive: every slot has exactly one
owner, every running node agrees on it (``redis-cli --cluster check``'s "All nodes agree
about slots configuration"), epochs never went down, no two masters claim one slot with
the same configEpoch, and the same seed reproduces the same trace byte for byte. And
liveness (issue 11): once everything is healed and alive, every node is ok with no
``fail``/``fail?`` flag within a stated bound, after partitions up to 5·NT long.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.messages import FAIL, PFAIL
from simulator.node import (
    CRASHED,
    MAX_REJOIN_DELAY_MS,
    MIN_REJOIN_DELAY_MS,
    PAUSED,
    RUNNING,
    WRITABLE_DELAY_MS,
)
from simulator.simulation import Simulation
from simulator.slots import NO_OWNER
from simulator.trace import event_json

NT = 1000
NAMES = [f"n{i}" for i in range(1, 7)]  # 3 masters + 3 replicas
OPS = ("kill", "pause", "resume", "restart", "partition", "cut", "heal", "failover")


@dataclass(frozen=True)
class Fault:
    after_ms: int
    op: str
    node: int
    split: tuple[bool, ...]


faults = st.builds(
    Fault,
    after_ms=st.integers(100, 4 * NT),
    op=st.sampled_from(OPS),
    node=st.integers(0, len(NAMES) - 1),
    split=st.tuples(*[st.booleans() for _ in NAMES]),
)
schedules = st.lists(faults, min_size=1, max_size=8)


def _apply(sim: Simulation, fault: Fault, names: list[str] = NAMES) -> None:
    """Apply a fault if it makes sense in the current state (else skip it)."""
    name = names[fault.node]
    status = sim.cluster.node(name).status
    if fault.op == "kill" and status in (RUNNING, PAUSED):
        sim.inject("kill", node=name)
    elif fault.op == "pause" and status == RUNNING:
        sim.inject("pause", node=name)
    elif fault.op == "resume" and status == PAUSED:
        sim.inject("resume", node=name)
    elif fault.op == "restart" and status == CRASHED:
        sim.inject("restart", node=name)
    elif fault.op == "partition":
        side = [n for n, s in zip(names, fault.split, strict=True) if s]
        other = [n for n in names if n not in side]
        if side and other:
            sim.inject("partition", groups=[side, other])
    elif fault.op == "cut":
        sources = [n for n, s in zip(names, fault.split, strict=True) if s]
        if sources and name not in sources:
            sim.inject("cut", **{"from": sources, "to": [name]})
    elif fault.op == "heal":
        sim.inject("heal")
    elif fault.op == "failover" and status == RUNNING and not sim.cluster.node(name).is_master:
        sim.inject("failover", node=name, mode="force" if fault.split[0] else "default")


def _epochs(sim: Simulation) -> dict[str, tuple[int, int]]:
    return {n.name: (n.current_epoch, n.me.config_epoch) for n in sim.cluster.nodes.values()}


def run_schedule(
    seed: int, schedule: list[Fault], keep_dead: tuple[bool, ...], rewindable: bool = True
) -> Simulation:
    """``rewindable=False``: no checkpoints (they never change a run: tests/test_checkpoints.py,
    tests/test_runner_driver.py), for the tests that never rewind and only read the end."""
    sim = Simulation(
        masters=3,
        replicas=1,
        seed=seed,
        config={"cluster-node-timeout": NT},
        **({} if rewindable else {"checkpoint_ms": None}),
    )
    sim.run_until(2000)
    seen = _epochs(sim)
    for fault in schedule:
        sim.run_until(sim.now + fault.after_ms)
        _apply(sim, fault)
        now = _epochs(sim)
        for name, (current, _) in now.items():
            assert current >= seen[name][0], f"{name}'s currentEpoch went down"
        seen = now
    # Heal everything; crashed nodes may stay dead while a majority of masters lives.
    sim.inject("heal")
    for node in list(sim.cluster.nodes.values()):
        if node.status == PAUSED:
            sim.inject("resume", node=node.name)
    for index, node in enumerate(list(sim.cluster.nodes.values())):
        if node.status == CRASHED and not keep_dead[index]:
            sim.inject("restart", node=node.name)
    owners = {sim.cluster.truth_owner(slot) for slot in (0, 5461, 10923)}
    if None in owners or any(sim.cluster.node(o).status != RUNNING for o in owners if o):
        for node in list(sim.cluster.nodes.values()):
            if node.status == CRASHED:
                sim.inject("restart", node=node.name)
    sim.run_until(sim.now + 10 * NT)
    for name, (current, _) in _epochs(sim).items():
        assert current >= seen[name][0], f"{name}'s currentEpoch went down"
    return sim


def check_converged(sim: Simulation) -> None:
    running = sim.cluster.running_nodes()
    tables = {n.name: n.slots.raw() for n in running}
    first = next(iter(tables.values()))
    disagree = [name for name, table in tables.items() if table != first]
    assert not disagree, f"nodes disagree about slots: {disagree}"
    assert NO_OWNER not in first, "a slot has no owner"
    # No slot claimed by two masters with the same configEpoch: per epoch, the slot sets
    # of the masters claiming it are disjoint (the lowest shared slot is reported).
    claims: dict[int, list[tuple[str, set[int]]]] = {}
    for master in (n for n in running if n.is_master):
        earlier = claims.setdefault(master.me.config_epoch, [])
        mine = set(master.my_slots())
        shared = [(min(theirs & mine), name) for name, theirs in earlier if theirs & mine]
        assert not shared, (
            f"slot {min(shared)[0]} claimed by {min(shared)[1]} and {master.name} "
            "with the same configEpoch"
        )
        earlier.append((master.name, mine))


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(
    seed=st.integers(0, 2**32),
    schedule=schedules,
    keep_dead=st.tuples(*[st.booleans() for _ in NAMES]),
)
def test_after_any_fault_schedule_the_cluster_converges_on_one_slot_map(
    seed: int, schedule: list[Fault], keep_dead: tuple[bool, ...]
) -> None:
    check_converged(run_schedule(seed, schedule, keep_dead, rewindable=False))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), schedule=schedules)
def test_the_same_seed_and_schedule_reproduce_the_trace_byte_for_byte(
    seed: int, schedule: list[Fault]
) -> None:
    keep = (False,) * len(NAMES)
    first = [event_json(e) for e in run_schedule(seed, schedule, keep).trace.events]
    second = [event_json(e) for e in run_schedule(seed, schedule, keep).trace.events]
    assert first == second


# ---------------------------------------------------------------------------- liveness


@dataclass(frozen=True)
class LongFault:
    """A fault ``after_tenths`` tenths of NT after the previous one (up to 5·NT)."""

    after_tenths: int
    op: str
    node: int
    split: tuple[bool, ...]


long_faults = st.builds(
    LongFault,
    after_tenths=st.integers(1, 50),
    op=st.sampled_from(OPS),
    node=st.integers(0, len(NAMES) - 1),
    split=st.tuples(*[st.booleans() for _ in NAMES]),
)


def liveness_bound_ms(nt: int) -> int:
    """How long after everything is healed and alive the cluster may take to be whole.

    A FAIL on a master with slots is undone 2·NT after it was set (FAIL_UNDO_TIME_MULT);
    a master waits the rejoin delay min(max(NT, 0.5 s), 5 s) after its last minority
    moment, a restarted one the 2 s writable delay; a link cut by a partition comes back
    at the next SYN of its connect cycle (at most 4 s apart: SYNs at 0-5, 7, 11 s). Plus
    5 s of slack (an election in flight, a cron tick here and there).
    """
    rejoin = min(max(nt, MIN_REJOIN_DELAY_MS), MAX_REJOIN_DELAY_MS)
    return 2 * nt + rejoin + WRITABLE_DELAY_MS + 4000 + 5000


def whole(sim: Simulation) -> bool:
    """Every node reports ok and flags no node ``fail`` or ``fail?``."""
    return all(
        node.state == "ok" and not any(p.flags & (FAIL | PFAIL) for p in node.peers.values())
        for node in sim.cluster.nodes.values()
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(
    seed=st.integers(0, 2**32),
    nt=st.sampled_from([1000, 5000, 15_000]),
    replicas=st.sampled_from([0, 1]),
    schedule=st.lists(long_faults, max_size=4),
    cut_off=st.lists(st.integers(0, len(NAMES) - 1), min_size=1, max_size=2, unique=True),
    hold_tenths=st.integers(10, 50),
)
def test_once_every_fault_is_healed_every_node_is_ok_with_no_fail_flag_within_the_bound(
    seed: int,
    nt: int,
    replicas: int,
    schedule: list[LongFault],
    cut_off: list[int],
    hold_tenths: int,
) -> None:
    """The liveness rule issue 11 found broken: a healed cluster must not stay down.

    NT 1 s, 5 s and the default 15 s, with or without replicas; random faults up to
    5·NT apart, then a minority cut off for 1 to 5·NT; then everything is healed,
    resumed and restarted (every master with its replicas alive), and the cluster must
    be whole within :func:`liveness_bound_ms`."""
    sim = Simulation(
        masters=3,
        replicas=replicas,
        seed=seed,
        config={"cluster-node-timeout": nt},
        checkpoint_ms=None,  # never rewound: checkpoints would only cost time
    )
    names = list(sim.cluster.nodes)
    sim.run_until(2000)
    for fault in schedule:
        sim.run_until(sim.now + fault.after_tenths * nt // 10)
        if fault.node < len(names):
            _apply(sim, Fault(0, fault.op, fault.node, fault.split[: len(names)]), names)
    minority = [names[i % len(names)] for i in cut_off]
    sim.inject("partition", groups=[minority, [n for n in names if n not in minority]])
    sim.run_until(sim.now + hold_tenths * nt // 10)
    sim.inject("heal")
    for node in list(sim.cluster.nodes.values()):
        if node.status == PAUSED:
            sim.inject("resume", node=node.name)
        elif node.status == CRASHED:
            sim.inject("restart", node=node.name)
    healed = sim.now
    bound = liveness_bound_ms(nt)
    assert sim.run_until_condition(lambda: whole(sim), healed + bound), (
        f"not whole {bound} ms after the heal: "
        + ", ".join(
            f"{n.name}:{n.state}"
            + "".join(f" {p.name}" for p in n.peers.values() if p.flags & (FAIL | PFAIL))
            for n in sim.cluster.nodes.values()
        )
    )
