"""WAIT as Redis 7.0.15 runs it (redis-rules §20.3): a blocked WAIT asks its replicas
for an ACK with ``REPLCONF GETACK *`` and is answered when the ACK arrives, not on a
poll. The figures the tests hold rcsim to are real: tests/data/wait-getack.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.dataplane import install
from simulator.dataplane.client_op import Op
from simulator.dataplane.model import ClusterData
from simulator.resp.client import ClientState, PortMap
from simulator.resp.commands import Context, dispatch, wait_reply
from simulator.simulation import Simulation
from simulator.slots import key_hash_slot

REAL = json.loads((Path(__file__).parent / "data" / "wait-getack.json").read_text())
GETACK = REAL["offset_growth_after_blocked_wait"][0]  # 37 bytes
ONE_WAY = 2  # ms between any two endpoints, where a test sets it


def cluster(seed: int = 1) -> tuple[Simulation, ClusterData[Any, Any]]:
    sim = Simulation(masters=3, replicas=1, seed=seed, config={"cluster-node-timeout": 2000})
    dp = install(sim)
    sim.run_until(1500)  # past the first replication PINGs and ACKs
    return sim, dp


def key_on(sim: Simulation, master: str) -> str:
    owners = sim.cluster.truth_table()
    return next(f"k{i}" for i in range(10_000) if owners[key_hash_slot(f"k{i}")] == master)


def finish(sim: Simulation, op: Op, within: int = 1000) -> None:
    assert sim.run_until_condition(lambda: op.done, sim.now + within)


def answered_at(sim: Simulation, op: Op) -> int:
    """When the node answered ``op``: its reply's arrival less the fixed one-way delay."""
    finish(sim, op)
    return sim.now - ONE_WAY


def test_the_real_figures_are_what_the_rules_say() -> None:
    assert REAL["redis"].startswith("Redis server v=7.0.15")
    assert REAL["offset_growth_after_blocked_wait"] == [GETACK] == [37]
    assert REAL["master_offset_minus_acked_offset"] == [GETACK]
    assert REAL["offset_growth_after_unblocked_wait"] == [GETACK]
    assert REAL["blocked_wait_ms"]["median"] < 1  # one loopback round trip
    timeout = REAL["timeout_wait"]
    assert (
        timeout["timeout_ms"] < timeout["median"] <= timeout["max"] <= timeout["timeout_ms"] + 101
    )


def test_a_blocked_wait_is_answered_when_the_getack_s_ack_arrives_not_on_a_poll() -> None:
    """``waitCommand`` blocks, ``beforeSleep`` sends GETACK, the replica ACKs at once,
    ``processClientsWaitingReplicas`` answers: one round trip (real median 0.09 ms)."""
    for seed in (1, 2, 3):
        sim, _ = cluster(seed)
        key = key_on(sim, "n1")
        finish(sim, sim.inject("write", key=key, value="v", client="w"))
        sim.cluster.network.latency_ms = (ONE_WAY, ONE_WAY)
        write = sim.inject("write", key=key, value="v2", client="w")
        wait = sim.inject("wait", client="w", numreplicas=1, timeout=1000, node="n1")
        finish(sim, wait)
        assert write.outcome == "ok" and wait.outcome == "ok" and wait.result == 1
        # WAIT in, GETACK out behind the SET, ACK back, reply out: four one-way trips.
        # (The old poll took the offset from the client's last reply, which the SET's
        # had not reached yet: it answered in two, before the replica had the SET.)
        assert sim.now - wait.sent_at == 4 * ONE_WAY


def test_getack_costs_the_stream_37_bytes_and_the_ack_is_37_behind() -> None:
    """``sendGetackToReplicas`` feeds ``REPLCONF GETACK *`` (37 bytes) to the stream;
    the replica ACKs while running it, so the ACK excludes it (wait-getack.json)."""
    sim, _ = cluster()
    n1 = sim.cluster.node("n1")
    write = sim.inject("write", key=key_on(sim, "n1"), value="v", client="w")
    finish(sim, write)
    after_write = n1.repl.offset
    wait = sim.inject("wait", client="w", numreplicas=1, timeout=1000, node="n1")
    finish(sim, wait)
    assert n1.repl.offset - after_write == GETACK
    replica = n1.me.replicas[0]
    assert n1.repl.offset - n1.repl.acks[replica][0] == GETACK
    assert sim.cluster.node(replica).repl.offset == n1.repl.offset


def test_woff_moves_with_every_command_so_a_wait_after_a_read_blocks_again() -> None:
    """``processCommand`` sets ``c->woff`` after every command: a GET after a WAIT
    moves it past the first GETACK, so the next WAIT blocks for another (real: 37
    more bytes). Right after a WAIT, with nothing between, WAIT 1 0 answers at once."""
    sim, _ = cluster()
    n1 = sim.cluster.node("n1")
    key = key_on(sim, "n1")
    finish(sim, sim.inject("write", key=key, value="v", client="w"))
    finish(sim, sim.inject("wait", client="w", numreplicas=1, timeout=1000, node="n1"))
    before = n1.repl.offset
    again = sim.inject("wait", client="w", numreplicas=1, timeout=0, node="n1")
    finish(sim, again)
    assert again.result == 1 and n1.repl.offset == before  # no GETACK: ACKed already
    finish(sim, sim.inject("read", key=key, client="w"))
    third = sim.inject("wait", client="w", numreplicas=1, timeout=0, node="n1")
    finish(sim, third)
    assert third.result == 1 and n1.repl.offset - before == GETACK


def watch(sim: Simulation, name: str, handler: str) -> list[int]:
    """The times node ``name``'s ``handler`` runs (observed; the handler still runs)."""
    node = sim.cluster.node(name)
    times: list[int] = []
    run = getattr(node, handler)

    def observed(*args: Any) -> None:
        times.append(sim.now)
        run(*args)

    setattr(node, handler, observed)
    return times


def watch_packets(sim: Simulation, name: str) -> list[int]:
    """The times bus packets reach ``name`` (its ``clusterProcessPacket`` calls)."""
    return watch(sim, name, "receive")


def test_the_real_server_answers_a_timed_out_wait_in_whatever_pass_comes_next() -> None:
    """wait-getack.json: a PING from another connection 10 ms after the timeout got the
    WAIT answered 0.2 ms later (``beforeSleep`` runs ``handleBlockedClientsTimeout``
    after every pass); only the trials with a serverCron pass in those 10 ms were
    answered before it. With no replica connected a GETACK still moves the offset."""
    woken = REAL["timeout_wait_woken_by_a_command"]
    assert woken["ping_after_ms"] > woken["timeout_ms"]
    assert woken["answered_after_the_ping_ms"]["median"] < 1
    assert woken["answered_before_the_ping"] <= woken["trials"] * 0.2  # a 10 ms cron window
    assert REAL["wait_with_no_replica"] == {"reply": ":0", "offset_growth": GETACK}


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_wait_timeout_is_answered_in_the_first_event_loop_pass_after_it(seed: int) -> None:
    """An idle Redis sleeps until its serverCron (hz 10) or a packet: a 50 ms WAIT with
    too few replicas is answered in the first pass after ``timeout < now``, the cron's
    or a bus packet's (real, cron only: 50-150 ms after it was sent)."""
    sim, _ = cluster(seed)
    n1 = sim.cluster.node("n1")
    packets = watch_packets(sim, "n1")
    finish(sim, sim.inject("write", key=key_on(sim, "n1"), value="v", client="w"))
    sim.cluster.network.latency_ms = (ONE_WAY, ONE_WAY)
    sim.run_for(int(seed * 23))  # a different cron phase per seed
    wait = sim.inject("wait", client="w", numreplicas=2, timeout=50, node="n1")
    deadline = sim.now + ONE_WAY + 50
    sim.run_until(deadline + 1)
    cron_pass = int(n1.cron_due)
    answered = answered_at(sim, wait)
    assert wait.result == 1
    late_packets = [at for at in packets if at > deadline]
    first_pass = min([cron_pass, *late_packets[:1]])
    assert answered == first_pass
    assert first_pass - deadline <= 102


def test_some_timed_out_waits_are_answered_by_a_packet_before_the_cron() -> None:
    """The seeds above, counted: the packet case happens (seeds 6 and 8 here)."""
    by_packet = 0
    for seed in range(1, 9):
        sim, _ = cluster(seed)
        n1 = sim.cluster.node("n1")
        finish(sim, sim.inject("write", key=key_on(sim, "n1"), value="v", client="w"))
        sim.cluster.network.latency_ms = (ONE_WAY, ONE_WAY)
        sim.run_for(int(seed * 23))
        wait = sim.inject("wait", client="w", numreplicas=2, timeout=50, node="n1")
        sim.run_until(sim.now + ONE_WAY + 51)
        cron_pass = int(n1.cron_due)
        by_packet += answered_at(sim, wait) < cron_pass
    assert by_packet >= 2


def test_a_command_from_another_client_answers_a_wait_whose_timeout_passed() -> None:
    """wait-getack.json's second case: a command read after the timeout is a pass, so
    its ``beforeSleep`` answers the WAIT in the same millisecond as the command."""
    sim, _ = cluster(2)
    n1 = sim.cluster.node("n1")
    packets = watch_packets(sim, "n1")
    key = key_on(sim, "n1")
    finish(sim, sim.inject("write", key=key, value="v", client="w"))
    sim.cluster.network.latency_ms = (ONE_WAY, ONE_WAY)
    while True:  # a start whose deadline is 30 ms or more before the next cron pass
        sim.run_for(7)
        wait = sim.inject("wait", client="w", numreplicas=2, timeout=50, node="n1")
        deadline = wait.sent_at + ONE_WAY + 50
        sim.run_until(deadline + 1)
        quiet = not [at for at in packets if deadline < at <= deadline + 10]
        if quiet and n1.cron_due - deadline >= 30 and not wait.done:
            break
        finish(sim, wait)
    read = sim.inject("read", key=key, client="other")  # arrives at deadline + 1 + ONE_WAY
    assert answered_at(sim, wait) == deadline + 1 + ONE_WAY < n1.cron_due
    assert wait.result == 1
    finish(sim, read)


def test_a_wait_on_a_master_with_no_replica_still_feeds_its_getack_to_the_backlog() -> None:
    """``replicationFeedSlaves`` writes the GETACK to the backlog though no replica is
    connected: the offset moves 37 bytes and the WAIT answers 0 at its timeout."""
    sim, _ = cluster()
    n1 = sim.cluster.node("n1")
    finish(sim, sim.inject("write", key=key_on(sim, "n1"), value="v", client="w"))
    sim.inject("kill", node=n1.me.replicas[0])
    assert sim.run_until_condition(lambda: not n1.repl.streams, sim.now + 20_000)
    before = n1.repl.offset
    wait = sim.inject("wait", client="w", numreplicas=1, timeout=50, node="n1")
    finish(sim, wait)
    assert wait.result == 0 and n1.repl.offset - before == GETACK


def test_no_getack_goes_out_while_writes_are_paused_and_a_demoted_master_unblocks_wait() -> None:
    """``beforeSleep`` sends no GETACK while clients are paused (a manual failover's
    pause); when the master becomes a replica, ``replicationSetMaster`` calls
    ``disconnectAllBlockedClients``: the WAIT gets the UNBLOCKED error."""
    sim, _ = cluster()
    n1 = sim.cluster.node("n1")
    replica = n1.me.replicas[0]
    key = key_on(sim, "n1")
    finish(sim, sim.inject("write", key=key, value="v", client="w"))
    sim.inject("failover", node=replica)
    assert sim.run_until_condition(lambda: n1.writes_paused(), sim.now + 1000)
    paused_offset = n1.repl.offset
    wait = sim.inject("wait", client="w", numreplicas=2, timeout=0, node="n1")  # 1 replica
    asked = False  # blocked, its GETACK due but held back
    while n1.is_master:
        assert n1.repl.offset == paused_offset  # the GETACK waits for the pause to end
        asked = asked or (bool(n1.data.waiting) and n1.data.get_ack)
        sim.run_for(1)
        assert sim.now < 8000
    assert asked
    finish(sim, wait)
    assert wait.outcome == "error" and "UNBLOCKED force unblock" in str(wait.result)


def test_resp_wait_asks_for_acks_and_is_answered_when_they_arrive() -> None:
    """The RESP front holds the same rules: WAIT blocks, a GETACK goes out, the ACK
    answers it; on a replica it is refused, and a demoted master closes it."""
    sim, _ = cluster()
    key = key_on(sim, "n1")
    state = ClientState(1, "resp:t:1", "127.0.0.1:50000", "127.0.0.1:7500", 0)
    ctx = Context(sim, "n1", state, PortMap(7500), [state])
    dispatch(ctx, [b"SET", key.encode(), b"v"])
    n1 = sim.cluster.node("n1")
    before = n1.repl.offset
    outcome = dispatch(ctx, [b"WAIT", b"1", b"1000"])
    assert outcome.blocked is not None and outcome.blocked.offset == before
    assert wait_reply(ctx, outcome.blocked) is None
    sim.run_for(3)
    done = wait_reply(ctx, outcome.blocked)
    assert done is not None and done.replies == [1]
    assert n1.repl.offset - before == GETACK


def test_a_resp_wait_past_its_timeout_is_answered_after_the_node_s_next_pass() -> None:
    """The RESP front reads the same table: no reply until a pass of the node comes
    after the timeout; another connection's command is one."""
    sim, _ = cluster(3)
    n1 = sim.cluster.node("n1")
    key = key_on(sim, "n1")
    state = ClientState(1, "resp:t:1", "127.0.0.1:50000", "127.0.0.1:7500", 0)
    other = ClientState(2, "resp:t:2", "127.0.0.1:50001", "127.0.0.1:7500", 0)
    ctx = Context(sim, "n1", state, PortMap(7500), [state, other])
    dispatch(ctx, [b"SET", key.encode(), b"v"])
    while True:  # a moment with no pass of n1 in the millisecond after the timeout
        sim.run_for(7)
        blocked = dispatch(ctx, [b"WAIT", b"2", b"50"]).blocked
        assert blocked is not None and blocked.deadline_ms == sim.now + 50
        sim.run_until(blocked.deadline_ms + 1)
        if n1.data.last_pass <= blocked.deadline_ms:
            break
        assert wait_reply(ctx, blocked) is not None
    assert wait_reply(ctx, blocked) is None  # past the timeout, no pass yet
    dispatch(Context(sim, "n1", other, PortMap(7500), [state, other]), [b"PING"])
    done = wait_reply(ctx, blocked)
    assert done is not None and done.replies == [1]


def test_a_refused_reconnect_is_a_pass_that_answers_a_timed_out_wait() -> None:
    """Every socket event ends in a ``beforeSleep``: n1 reconnects to a dead n2 on each
    cron tick and the dead host's RST comes back a round trip later. A WAIT whose
    timeout falls just after the tick is answered in the RST's pass, not on the next
    tick (nor on a packet, none arriving in between in the case picked here)."""
    sim, _ = cluster(1)
    n1 = sim.cluster.node("n1")
    packets = watch_packets(sim, "n1")
    refusals = watch(sim, "n1", "on_refused")
    finish(sim, sim.inject("write", key=key_on(sim, "n1"), value="v", client="w"))
    sim.cluster.network.latency_ms = (ONE_WAY, ONE_WAY)
    sim.inject("kill", node="n2")
    assert sim.run_until_condition(lambda: bool(refusals), sim.now + 5000)
    for _ in range(50):  # a tick whose RST comes before any packet after the timeout
        tick = int(n1.cron_due)
        sim.run_until(tick - 20)
        wait = sim.inject(
            "wait", client="w", numreplicas=2, timeout=tick + 1 - (sim.now + ONE_WAY), node="n1"
        )
        deadline = tick + 1
        answered = answered_at(sim, wait)
        rst = next((t for t in refusals if t > deadline), None)
        first_packet = next((t for t in packets if t > deadline), None)
        if rst is not None and (first_packet is None or rst < first_packet) and rst < tick + 50:
            assert answered == rst == tick + 2 * ONE_WAY
            assert wait.result == 1
            return
    raise AssertionError("no tick had its RST before a packet")
