"""The real side's backing database (rcsim/verify/standin_db.py) against rcsim's
(simulator/dataplane/backing_db.py): for the same seed and the same queries at the same
times, every answer (version, queue wait, latency, refusal) and every counter agree.
No server: the stand-in runs on a clock the test moves."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from rcsim.verify.standin_db import StandInDB, WallEngine
from simulator.dataplane.backing_db import READ, WRITE, BackingDB, DbAnswer, DbConfig
from simulator.engine import Engine

Arrival = tuple[float, str, str, str]  # (ms, op, key, client)


def arrivals(seed: int, count: int, span_ms: float) -> list[Arrival]:
    """Queries at fractional times (never equal to a service's end), a fifth writes."""
    draw = random.Random(seed)
    out = [
        (
            round(draw.uniform(0, span_ms), 6) + 0.000_1,
            WRITE if draw.random() < 0.2 else READ,
            f"page:{draw.randrange(4)}",
            draw.choice(["plain", "locked"]),
        )
        for _ in range(count)
    ]
    return sorted(out)


def answered(answer: DbAnswer, log: list[tuple[Any, ...]], tag: int) -> None:
    log.append(
        (
            tag,
            answer.key,
            answer.op,
            answer.version,
            round(answer.wait_ms, 6),
            round(answer.latency_ms, 6),
        )
    )


def rcsim_side(config: DbConfig, seed: int, queries: list[Arrival]) -> tuple[list[Any], Any]:
    engine = Engine(seed)
    db = BackingDB(engine, config, lambda *a, **k: None)
    log: list[tuple[Any, ...]] = []
    for tag, (t, op, key, client) in enumerate(queries):
        engine.schedule_at(t, db.submit, op, key, client, answered, log, tag)
    while engine.step():
        pass
    return log, db.stats


def standin_side(config: DbConfig, seed: int, queries: list[Arrival]) -> tuple[list[Any], Any]:
    clock = [0.0]
    stand_in = StandInDB(config, seed, lambda: clock[0])
    log: list[tuple[Any, ...]] = []
    for tag, (t, op, key, client) in enumerate(queries):
        clock[0] = t
        stand_in.submit(op, key, client, answered, log, tag)
    clock[0] = 10**9
    stand_in.engine.advance(clock[0])
    return log, stand_in.db.stats


@pytest.mark.parametrize(
    ("config", "count", "span"),
    [
        (DbConfig((40.0, 60.0), 8, 100), 600, 400.0),  # cache-stampede's database, overloaded
        (DbConfig((2.0, 4.0), 8, 1000), 200, 1000.0),  # invalidation-lost's, idle
        (DbConfig((5.0, 9.0), 2, 3), 300, 300.0),  # a tiny queue: refusals
        (DbConfig((5.0, 5.0), 1, 0), 100, 200.0),  # one worker, no queue, fixed service
    ],
)
def test_the_stand_in_answers_as_rcsim_database(config: DbConfig, count: int, span: float) -> None:
    queries = arrivals(7, count, span)
    sim_log, sim_stats = rcsim_side(config, 3, queries)
    real_log, real_stats = standin_side(config, 3, queries)
    assert real_log == sim_log
    assert (real_stats.reads, real_stats.writes, real_stats.refused, real_stats.max_queue) == (
        sim_stats.reads,
        sim_stats.writes,
        sim_stats.refused,
        sim_stats.max_queue,
    )
    assert real_stats.by_client == sim_stats.by_client
    assert real_stats.reads_per_s == sim_stats.reads_per_s


def test_the_overloaded_case_queues_and_refuses() -> None:
    """The comparison above is not vacuous: the stampede's database waits and refuses."""
    _, stats = standin_side(DbConfig((40.0, 60.0), 8, 100), 3, arrivals(7, 600, 400.0))
    assert stats.max_queue == 100
    assert stats.refused > 0


def test_another_seed_draws_other_service_times() -> None:
    config = DbConfig((40.0, 60.0), 8, 100)
    queries = arrivals(7, 50, 400.0)
    assert standin_side(config, 3, queries)[0] != standin_side(config, 4, queries)[0]


def test_the_wall_engine_runs_events_in_time_order_fifo_at_equal_times() -> None:
    engine = WallEngine(1)
    ran: list[tuple[str, float]] = []
    for name, t in (("b", 5.0), ("a", 2.0), ("c", 5.0), ("d", 9.0)):
        engine.schedule_at(t, lambda n: ran.append((n, engine.instant)), name)
    engine.advance(6.0)
    assert ran == [("a", 2.0), ("b", 5.0), ("c", 5.0)]
    assert engine.instant == 6.0 and engine.due() == 9.0
    assert Engine(1).rng("backing-db").random() == engine.rng("backing-db").random()


def test_a_blocked_query_is_answered_by_the_driver_when_its_service_ends() -> None:
    """The client thread waits; the driver thread answers it once the clock passes the
    service's end (the clock is the test's: nothing here depends on the host's speed)."""
    clock = [100.0]
    stand_in = StandInDB(DbConfig((20.0, 20.0), 1, 5), 1, lambda: clock[0])
    stand_in.start()
    try:
        got: list[DbAnswer] = []
        threads = [
            threading.Thread(target=lambda: got.append(stand_in.query(READ, "k", "c")))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for _ in range(1000):  # both submitted: one served, one queued
            with stand_in.lock:
                if stand_in.db.busy == 1 and stand_in.db.queued() == 1:
                    break
            threads[0].join(timeout=0.01)
        assert got == []  # the clock has not moved: nobody is answered
        assert stand_in.db.queued() == 1
        clock[0] = 200.0
        for thread in threads:
            thread.join(timeout=10)
        assert sorted((a.wait_ms, a.latency_ms) for a in got) == [(0.0, 20.0), (20.0, 40.0)]
        assert stand_in.stats()["reads"] == 2
    finally:
        stand_in.stop()
