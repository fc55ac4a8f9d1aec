"""A default manual failover's event-loop passes and links (docs/redis-rules.md §12.1).

The replica answers its paused master's PING with a PONG on its own link to it, and
starts the election in the next pass: the AUTH_REQUEST to the old master finds that
PONG unacknowledged and waits for the old master's delayed ACK (§4.5), so the old master
votes, and learns the new master, ~40 ms after the two other masters.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median
from typing import Any

from simulator.links import LINUX
from simulator.simulation import Simulation

DATA = Path(__file__).parent / "data" / "manual-failover.json"
DELACK = LINUX.delack_ms


def _default_failover(seed: int) -> tuple[Simulation, int]:
    sim = Simulation(masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": 15000})
    sim.run_until(1000)
    sim.set_bus_trace(True)
    at = sim.now
    sim.inject("failover", node="n4")
    sim.run_until(at + 500)
    return sim, at


def test_real_old_master_votes_and_reconfigures_a_delayed_ack_after_the_election() -> None:
    """The data the rule comes from: manual-failover.json's DEFAULT log lines."""
    runs: list[dict[str, Any]] = json.loads(DATA.read_text())["healthy_master_runs"]
    late, prompt = [], []
    for run in (r for r in runs if r["mode"] == "DEFAULT"):
        events = run["log_events"]
        started = next(e["t_ms"] for e in events if "Starting a failover election" in e["msg"])
        for e in events:
            if "Failover auth granted" in e["msg"]:
                delay = e["t_ms"] - started
                (late if e["port"] == run["old_master_port"] else prompt).append(delay)
    assert len(prompt) == 20 and max(prompt) <= 1  # the two other masters at once
    assert len(late) == 8  # the other two runs: the old master heard first from its own ping
    assert min(late) >= DELACK and median(late) <= DELACK + 5  # 41-50 ms


def test_manual_election_starts_in_the_pass_after_the_pong_to_the_paused_ping() -> None:
    """On the replica's link to its master: the PONG answering the paused PING goes out
    first, the AUTH_REQUEST a delayed ACK later, then the winner's PONG behind it."""
    for seed in (1, 2, 3):
        sim, at = _default_failover(seed)
        started = next(e["t"] for e in sim.trace.of_kind("election_started") if e["node"] == "n4")
        promoted = next(e["t"] for e in sim.trace.of_kind("promoted") if e["node"] == "n4")
        assert started == promoted == at  # the two other masters' votes come at once
        to_master = [
            (e["t"], e["type"], e["epoch"])
            for e in sim.trace.of_kind("bus_message")
            if e["node"] == "n4" and e["target"] == "n1" and e["t"] <= at + DELACK + 5
        ]
        assert to_master[0][:2] == (at, "MFSTART")
        assert to_master[1][:2] == (at, "PONG")  # the answer, before the election's epoch
        auth = next(m for m in to_master if m[1] == "AUTH_REQUEST")
        assert auth[0] == at + DELACK
        after = to_master[to_master.index(auth) + 1 :]
        assert after[0][:2] == (at + DELACK, "PONG")  # the winner's, right behind it


def test_the_old_master_votes_and_becomes_a_replica_a_delayed_ack_late() -> None:
    """Unless its own ping to the winner came first: then it is a replica already when
    the held AUTH_REQUEST arrives, and does not vote (the real logs' other two runs,
    reconfigured at ~29 ms with no vote logged)."""
    kinds = []
    for seed in (1, 2, 3):
        sim, at = _default_failover(seed)
        votes = {e["node"]: e["t"] for e in sim.trace.of_kind("vote") if e["target"] == "n4"}
        assert votes["n2"] == votes["n3"] == at
        role = next(e for e in sim.trace.of_kind("role") if e["node"] == "n1")
        assert role["role"] == "replica"
        if "n1" in votes:
            assert votes["n1"] == role["t"] == at + DELACK  # still its replica asking
            kinds.append("voted late")
        else:
            assert at < role["t"] < at + DELACK  # learned from its own ping's PONG
            kinds.append("replica first")
    assert kinds == ["voted late", "replica first", "voted late"]
