"""The event kernel (simulator/engine.py): ordering, cancellation, running, seeds, checkpoints."""

from __future__ import annotations

import copy
import gc
import weakref

import pytest

import simulator.engine
from simulator.engine import Engine, Timer, derive_seed, without_gc


class Recorder:
    """Collects ``(now, label)`` for every callback; bound methods keep engines deep-copyable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.log: list[tuple[int, str]] = []

    def hit(self, label: str) -> None:
        self.log.append((self.engine.now, label))

    def periodic(self, label: str, period: int, jitter_stream: str) -> None:
        """A timer that reschedules itself with jitter from a named stream."""
        self.log.append((self.engine.now, label))
        jitter = self.engine.rng(jitter_stream).randrange(period)
        self.engine.schedule(period + jitter, self.periodic, label, period, jitter_stream)


def _labels(recorder: Recorder) -> list[str]:
    return [label for _, label in recorder.log]


# --------------------------------------------------------------------------- ordering


def test_events_run_in_time_order_whatever_the_scheduling_order() -> None:
    engine = Engine()
    rec = Recorder(engine)
    for t in (50, 10, 30, 20, 40):
        engine.schedule(t, rec.hit, f"t{t}")
    engine.run_until(100)
    assert rec.log == [(10, "t10"), (20, "t20"), (30, "t30"), (40, "t40"), (50, "t50")]


def test_equal_times_run_first_in_first_out() -> None:
    engine = Engine()
    rec = Recorder(engine)
    for i in range(20):
        engine.schedule(5, rec.hit, f"e{i}")
    engine.schedule_at(5, rec.hit, "late")
    engine.run_until(5)
    assert _labels(rec) == [f"e{i}" for i in range(20)] + ["late"]


def test_event_scheduled_for_now_from_a_callback_runs_after_those_already_queued() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(1, engine.schedule, 0, rec.hit, "nested")
    engine.schedule(1, rec.hit, "queued")
    engine.run_until(1)
    assert rec.log == [(1, "queued"), (1, "nested")]


def test_schedule_in_the_past_raises() -> None:
    engine = Engine()
    engine.run_until(100)
    rec = Recorder(engine)
    with pytest.raises(ValueError, match="past"):
        engine.schedule(-1, rec.hit, "x")
    with pytest.raises(ValueError, match="now is 100"):
        engine.schedule_at(99, rec.hit, "x")
    engine.schedule_at(100, rec.hit, "now is allowed")
    engine.run_until(100)
    assert rec.log == [(100, "now is allowed")]


# --------------------------------------------------------------------------- fractional times


class InstantRecorder(Recorder):
    """Also records the exact instant, for sub-millisecond ordering."""

    def exact(self, label: str) -> None:
        self.log.append((self.engine.now, label))
        self.instants.append(self.engine.instant)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.instants: list[float] = []


def test_fractional_events_run_in_time_order_after_that_milliseconds_whole_events() -> None:
    engine = Engine()
    rec = InstantRecorder(engine)
    engine.schedule_at(3.75, rec.exact, "c")
    engine.schedule_at(3.25, rec.exact, "b")
    engine.schedule_at(4, rec.exact, "d")
    engine.schedule_at(3, rec.exact, "a")
    engine.run_until(10)
    assert rec.log == [(3, "a"), (3, "b"), (3, "c"), (4, "d")]
    assert rec.instants == [3, 3.25, 3.75, 4]


def test_delays_from_a_fractional_event_keep_its_fraction() -> None:
    engine = Engine()
    rec = InstantRecorder(engine)
    engine.schedule_at(2.5, engine.schedule, 1, rec.exact, "one later")
    engine.schedule_at(2.5, engine.schedule, 0, rec.exact, "at once")
    engine.schedule_at(2.75, rec.exact, "after")
    engine.schedule_at(3, rec.exact, "whole ms")
    engine.run_until(10)
    assert _labels(rec) == ["at once", "after", "whole ms", "one later"]
    assert rec.instants == [2.5, 2.75, 3, 3.5]


def test_a_whole_ms_time_inside_the_current_fractional_ms_means_as_soon_as_possible() -> None:
    engine = Engine()
    rec = InstantRecorder(engine)
    engine.schedule_at(5.5, engine.schedule_at, 5, rec.exact, "asap")
    engine.schedule_at(5.75, rec.exact, "later")
    engine.run_until(10)
    assert rec.log == [(5, "asap"), (5, "later")]
    assert rec.instants == [5.5, 5.75]
    with pytest.raises(ValueError, match="now is 10"):
        engine.schedule_at(9.5, rec.exact, "past")


def test_run_until_a_whole_ms_leaves_its_fractional_events_pending() -> None:
    engine = Engine()
    rec = InstantRecorder(engine)
    engine.schedule_at(7.5, rec.exact, "x")
    engine.run_until(7)
    assert rec.log == [] and engine.now == 7 and engine.peek() == 7.5
    with pytest.raises(ValueError, match="past pending"):
        engine.advance_clock(8)
    assert engine.step() and rec.log == [(7, "x")] and engine.instant == 7.5
    engine.advance_clock(8)
    assert engine.now == engine.instant == 8


def test_fractional_times_that_add_up_to_a_whole_ms_share_its_bucket() -> None:
    engine = Engine()
    rec = InstantRecorder(engine)
    engine.schedule_at(1, rec.hit, "int first")
    engine.schedule_at(0.5 + 0.5, rec.hit, "float later")
    engine.run_until(1)
    assert _labels(rec) == ["int first", "float later"]


def test_schedule_returns_a_timer_describing_the_event() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.run_until(7)
    timer = engine.schedule(3, rec.hit, "x")
    assert isinstance(timer, Timer)
    assert (timer.time, timer.args, timer.cancelled) == (10, ("x",), False)
    assert timer.callback == rec.hit
    assert "Recorder.hit" in repr(timer)


# --------------------------------------------------------------------------- cancellation


def test_cancelled_events_never_run() -> None:
    engine = Engine()
    rec = Recorder(engine)
    keep = engine.schedule(10, rec.hit, "keep")
    drop = engine.schedule(20, rec.hit, "drop")
    drop.cancel()
    engine.run_until(30)
    assert rec.log == [(10, "keep")]
    assert not keep.cancelled and drop.cancelled


def test_cancelling_the_head_makes_peek_skip_to_the_next_live_event() -> None:
    engine = Engine()
    rec = Recorder(engine)
    head = engine.schedule(5, rec.hit, "head")
    second = engine.schedule(5, rec.hit, "second")
    engine.schedule(9, rec.hit, "third")
    assert engine.peek() == 5
    engine.cancel(head)
    assert engine.peek() == 5  # "second" shares the time
    second.cancel()
    assert engine.peek() == 9
    assert engine.pending() == 1  # peek dropped the cancelled heads
    assert engine.step() is True
    assert rec.log == [(9, "third")]


def test_peek_is_none_when_only_cancelled_events_remain() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(1, rec.hit, "a").cancel()
    assert engine.peek() is None
    assert engine.step() is False


def test_next_timer_is_the_live_head_and_stays_queued() -> None:
    engine = Engine()
    rec = Recorder(engine)
    assert engine.next_timer() is None
    head = engine.schedule(5, rec.hit, "head")
    second = engine.schedule(5, rec.hit, "second")
    assert engine.next_timer() is head
    head.cancel()
    assert engine.next_timer() is second  # the cancelled head is skipped
    assert engine.next_timer() is second  # looking does not pop it
    assert engine.step() is True
    assert rec.log == [(5, "second")]
    assert engine.next_timer() is None


def test_engine_cancel_accepts_none() -> None:
    Engine.cancel(None)  # no timer yet is a common state for optional timers


class Canceller:
    """Cancels a timer it is given later, from inside the loop."""

    def __init__(self) -> None:
        self.target: Timer | None = None

    def fire(self) -> None:
        Engine.cancel(self.target)


def test_a_callback_can_cancel_a_later_event_at_the_same_time() -> None:
    engine = Engine()
    rec = Recorder(engine)
    canceller = Canceller()
    engine.schedule(1, canceller.fire)
    canceller.target = engine.schedule(1, rec.hit, "cancelled-by-earlier")
    engine.schedule(1, rec.hit, "survivor")
    engine.run_until(1)
    assert rec.log == [(1, "survivor")]


# --------------------------------------------------------------------------- running


def test_step_runs_one_event_and_reports_whether_it_did() -> None:
    engine = Engine()
    rec = Recorder(engine)
    assert engine.step() is False
    engine.schedule(3, rec.hit, "a")
    engine.schedule(8, rec.hit, "b")
    assert engine.step() is True
    assert (engine.now, engine.events_run, rec.log) == (3, 1, [(3, "a")])
    assert engine.step() is True
    assert (engine.now, engine.events_run) == (8, 2)
    assert engine.step() is False
    assert engine.now == 8  # an empty step does not move time


def test_run_until_time_runs_events_at_exactly_t_and_leaves_now_at_t() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(100, rec.hit, "at-t")
    engine.schedule(101, rec.hit, "after-t")
    assert engine.run_until(100) is True
    assert rec.log == [(100, "at-t")]
    assert engine.now == 100
    assert engine.run_until(250) is True
    assert rec.log == [(100, "at-t"), (101, "after-t")]
    assert engine.now == 250  # time moves on even with nothing left to run
    assert engine.events_run == 2


def test_run_until_an_earlier_time_raises() -> None:
    engine = Engine()
    engine.run_until(10)
    with pytest.raises(ValueError, match="back"):
        engine.run_until(9)


def test_run_until_predicate_stops_right_after_the_event_that_makes_it_true() -> None:
    engine = Engine()
    rec = Recorder(engine)
    for t in range(1, 11):
        engine.schedule(t * 10, rec.hit, f"e{t}")
    done = engine.run_until(lambda: len(rec.log) == 3, limit_ms=1000)
    assert done is True
    assert engine.now == 30
    assert _labels(rec) == ["e1", "e2", "e3"]


def test_run_until_predicate_already_true_runs_nothing() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(1, rec.hit, "a")
    assert engine.run_until(lambda: True, limit_ms=10) is True
    assert (engine.now, rec.log) == (0, [])


def test_run_until_predicate_times_out_at_the_limit() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(0, rec.periodic, "cron", 100, "jitter")
    done = engine.run_until(lambda: False, limit_ms=1_000)
    assert done is False
    assert engine.now == 1_000
    assert rec.log and all(t <= 1_000 for t, _ in rec.log)
    assert engine.peek() is not None and engine.peek() > 1_000  # type: ignore[operator]


def test_run_until_predicate_without_limit_stops_when_the_queue_drains() -> None:
    engine = Engine()
    rec = Recorder(engine)
    engine.schedule(5, rec.hit, "only")
    assert engine.run_until(lambda: False) is False
    assert (engine.now, rec.log) == (5, [(5, "only")])


# --------------------------------------------------------------------------- seeds and streams


def _jittered_run(seed: int) -> list[tuple[int, str]]:
    engine = Engine(seed=seed)
    rec = Recorder(engine)
    for name in ("n1", "n2", "n3", "n4"):
        engine.schedule(0, rec.periodic, name, 100, name)
    engine.run_until(5_000)
    return rec.log


def test_same_seed_gives_the_same_event_sequence() -> None:
    assert _jittered_run(7) == _jittered_run(7)


def test_different_seeds_give_different_event_sequences() -> None:
    assert _jittered_run(7) != _jittered_run(8)


def test_rng_streams_are_independent_of_which_other_streams_exist() -> None:
    alone = Engine(seed=3)
    a_alone = [alone.rng("a").random() for _ in range(50)]
    crowded = Engine(seed=3)
    crowded.rng("b").random()
    interleaved = []
    for _ in range(50):
        crowded.rng("z").random()
        interleaved.append(crowded.rng("a").random())
    assert interleaved == a_alone


def test_rng_returns_the_same_stream_object_per_name() -> None:
    engine = Engine(seed=1)
    assert engine.rng("x") is engine.rng("x")
    assert engine.rng("x") is not engine.rng("y")


def test_derive_seed_depends_on_seed_and_name() -> None:
    assert derive_seed(1, "a") == derive_seed(1, "a")
    assert len({derive_seed(1, "a"), derive_seed(2, "a"), derive_seed(1, "b")}) == 3
    assert 0 <= derive_seed(1, "a") < 2**64


# --------------------------------------------------------------------------- checkpoints


def test_deepcopy_with_pending_bound_method_events_has_the_same_future() -> None:
    engine = Engine(seed=11)
    rec = Recorder(engine)
    for name in ("n1", "n2", "n3"):
        engine.schedule(0, rec.periodic, name, 100, name)
    cancelled = engine.schedule(2_500, rec.hit, "never")
    engine.run_until(2_000)
    cancelled.cancel()

    clone = copy.deepcopy(rec)
    assert clone.engine is not engine
    assert clone.log == rec.log

    rec.engine.run_until(6_000)
    clone.engine.run_until(6_000)
    original_future = rec.log
    assert clone.log == original_future
    assert "never" not in _labels(clone)
    assert clone.engine.now == engine.now and clone.engine.events_run == engine.events_run


def test_deepcopy_is_independent_of_the_original() -> None:
    engine = Engine(seed=2)
    rec = Recorder(engine)
    engine.schedule(0, rec.periodic, "n1", 100, "n1")
    engine.run_until(500)
    clone = copy.deepcopy(rec)
    engine.run_until(2_000)
    assert clone.engine.now == 500
    assert len(clone.log) < len(rec.log)
    clone.engine.run_until(2_000)
    assert clone.log == rec.log


# --------------------------------------------------------------------------- big builds


class _Graph:
    """A build with a reference cycle (as a cluster has: nodes point at their host)."""

    @without_gc
    def __init__(self, size: int) -> None:
        self.me = self
        self.items = [[i] for i in range(size)]


def test_a_big_build_is_frozen_until_the_next_build_releases_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulator.engine, "FREEZE_MIN_OBJECTS", 5_000)
    gc.collect()
    gc.unfreeze()
    try:
        big = _Graph(10_000)
        assert gc.isenabled()
        assert gc.get_freeze_count() >= 10_000  # out of the collector's full passes
        ref = weakref.ref(big)
        del big
        gc.collect()
        assert ref() is not None  # frozen: its cycle is not collected...
        _Graph(10)  # ...until the next build unfreezes and collects
        assert ref() is None
        assert gc.get_freeze_count() == 0  # a small build freezes nothing
    finally:
        gc.unfreeze()


def test_a_build_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        _Graph(10)
        assert not gc.isenabled()
    finally:
        gc.enable()
