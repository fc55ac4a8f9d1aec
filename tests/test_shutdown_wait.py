"""SHUTDOWN waits for the replicas (§21.3, ``prepareForShutdown`` / ``isReadyToShutdown``
in Redis 7.0's server.c): a master whose replicas have not acknowledged its whole stream
sends ``REPLCONF GETACK *``, pauses writes and stops at the first ``serverCron`` where
they have, or after ``shutdown-timeout``. The replica's answer to the GETACK leaves the
GETACK's own 37 bytes out, so the wait ends with the replica's next once-a-second ACK:
575 ms on real 7.0.15 (tests/data/master-restart.json, ``shutdown_log``)."""

from __future__ import annotations

import json
from pathlib import Path

from simulator.node import GETACK_BYTES
from simulator.simulation import Simulation
from tests.test_replication_stream_tcp import cluster, cut_pair, kinds, writer

REAL = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())
SHUTDOWN = next(case for case in REAL["cases"] if case["case"] == "shutdown")


def real_wait_ms() -> float:
    log = {entry["line"]: entry["ms"] for entry in SHUTDOWN["shutdown_log"]}
    assert log["Waiting for replicas before shutting down."] == 0
    return float(log["1 of 1 replicas are in sync when shutting down."])


def stopped_at(sim: Simulation, since: int) -> int:
    """Run until a node shuts down; when it did."""
    while not kinds(sim, "shutdown", since):
        sim.run_for(10)
    return int(kinds(sim, "shutdown", since)[0]["t"])


def shut_down(sim: Simulation, name: str = "n1") -> tuple[int, int]:
    """SHUTDOWN ``name``; (when it was asked, when it stopped)."""
    asked = sim.now
    sim.inject("shutdown", node=name)
    return asked, stopped_at(sim, asked)


def test_a_master_waits_for_its_replicas_next_ack_and_saves_the_getack_too() -> None:
    real = real_wait_ms()
    assert 0 < real <= 1100  # the replica's once-a-second ACK, then a serverCron
    before, after = (
        int(SHUTDOWN[k]["master_repl_offset"]) for k in ("before_restart", "after_restart")
    )
    assert after - before == GETACK_BYTES  # the saved offset includes the GETACK
    sim, dp = cluster(save="3600 1")
    writer(dp, rate=50)
    sim.run_for(2000)  # SHUTDOWN while the writes flow: the last ones are not acked yet
    n1 = sim.cluster.node("n1")
    offset = n1.repl.offset
    asked = sim.now
    sim.inject("shutdown", node="n1")
    waits = kinds(sim, "shutdown_wait", asked)
    assert [(e["node"], e["replicas"], e["timeout_ms"]) for e in waits] == [("n1", 1, 10_000)]
    assert n1.repl.offset == offset + GETACK_BYTES
    assert n1.writes_paused()
    stopped = stopped_at(sim, asked)
    assert n1.repl.offset == offset + GETACK_BYTES  # the writes meanwhile were held
    assert 0 < stopped - asked <= 1100
    saved = dp.data(n1).persistence.snapshot_repl
    assert saved is not None and saved[1] == offset + GETACK_BYTES
    assert sim.cluster.node("n4").repl.offset == saved[1]
    sim.inject("restart", node="n1")
    assert not sim.cluster.node("n1").writes_paused()  # a new process: no pause
    back_at = sim.now
    sim.run_for(3000)
    psync = [e for e in kinds(sim, "psync", back_at) if e["node"] == "n4"]
    assert psync and psync[0]["mode"] == "partial"


def test_a_replica_cut_off_holds_the_shutdown_until_the_timeout() -> None:
    sim, dp = cluster(**{"shutdown-timeout": 3})
    sim.run_for(500)
    cut_pair(sim)
    writer(dp, rate=50)  # writes the replica never acknowledges
    sim.run_for(500)
    asked, stopped = shut_down(sim)
    # the first serverCron (every 100 ms) at or past the 3 s deadline
    assert 3000 <= stopped - asked < 3100


def test_shutdown_timeout_0_and_a_master_without_replicas_stop_at_once() -> None:
    sim, dp = cluster(**{"shutdown-timeout": 0})
    writer(dp, rate=50)
    sim.run_for(500)
    asked, stopped = shut_down(sim)
    assert stopped == asked and kinds(sim, "shutdown_wait", 0) == []
    sim2, dp2 = cluster()
    writer(dp2, rate=50)
    sim2.run_for(500)
    sim2.inject("kill", node="n4")  # n1's only replica
    sim2.run_for(200)
    asked, stopped = shut_down(sim2)
    assert stopped == asked and kinds(sim2, "shutdown_wait", 0) == []


def test_a_second_shutdown_while_waiting_is_refused_and_a_kill_ends_the_wait() -> None:
    sim, dp = cluster()
    sim.run_for(500)
    cut_pair(sim)
    writer(dp, rate=50)
    sim.run_for(500)
    sim.inject("shutdown", node="n1")
    refused = None
    try:
        sim.inject("shutdown", node="n1")
    except Exception as error:  # ActionError: said once, named
        refused = str(error)
    assert refused is not None and "already shutting down" in refused
    sim.inject("kill", node="n1")
    sim.run_for(12_000)
    assert kinds(sim, "shutdown", 0) == []  # the wait ended with the process
    sim.inject("restart", node="n1")
    assert not sim.cluster.node("n1").writes_paused()
