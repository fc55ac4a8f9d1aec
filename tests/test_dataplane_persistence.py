"""The persistence model (§21): what every policy keeps on kill -9 and on power loss."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import NodeConfig
from simulator.dataplane.persistence import Persistence


def node(appendonly: bool = False, fsync: str = "everysec", save: str = "") -> Persistence:
    config = NodeConfig(
        {"appendonly": "yes" if appendonly else "no", "appendfsync": fsync, "save": save}
    )
    return Persistence(config)


def writes(p: Persistence, times: list[int]) -> None:
    for t in times:
        p.record_write(t, f"k{t}", f"v{t}")


TIMES = [100, 1500, 2100, 2900]


@pytest.mark.parametrize("fsync", ["always", "everysec", "no"])
def test_aof_process_crash_keeps_every_write(fsync: str) -> None:
    p = node(appendonly=True, fsync=fsync)
    writes(p, TIMES)
    assert p.restore(2950, power_loss=False) == {f"k{t}": f"v{t}" for t in TIMES}


def test_aof_always_survives_power_loss() -> None:
    p = node(appendonly=True, fsync="always")
    writes(p, TIMES)
    assert len(p.restore(2900, power_loss=True)) == 4


def test_aof_everysec_power_loss_loses_the_current_second() -> None:
    p = node(appendonly=True, fsync="everysec")
    writes(p, TIMES)
    assert sorted(p.restore(2950, power_loss=True)) == ["k100", "k1500"]


def test_aof_no_power_loss_loses_the_last_30_seconds() -> None:
    p = node(appendonly=True, fsync="no")
    writes(p, [1000, 9000, 10000, 10001, 39000])
    assert sorted(p.restore(40000, power_loss=True)) == ["k1000", "k10000", "k9000"]


@pytest.mark.parametrize("power_loss", [False, True])
def test_rdb_keeps_the_last_completed_snapshot(power_loss: bool) -> None:
    p = node(save="60 2")
    writes(p, [1000, 2000])
    assert not p.maybe_snapshot(60999)  # 60 s elapsed is not "more than 60"
    assert p.maybe_snapshot(61000)
    assert p.last_snapshot_time == 61000 and p.dirty == 0
    writes(p, [62000])
    assert not p.maybe_snapshot(200000)  # only 1 change since
    assert sorted(p.restore(200000, power_loss)) == ["k1000", "k2000"]


def test_save_points_need_enough_changes() -> None:
    p = node(save="3600 1 300 100 60 10000")
    writes(p, list(range(1, 100)))
    assert not p.maybe_snapshot(301_000)  # 99 changes < 100
    assert p.maybe_snapshot(3_601_000)  # 1 change after an hour


def test_no_persistence_restarts_empty_unless_an_rdb_file_exists() -> None:
    p = node()
    writes(p, TIMES)
    assert p.restore(3000, power_loss=False) == {}
    p.full_sync(4000, {"x": "1"})  # a disk-based full resync leaves dump.rdb behind
    p.record_write(4500, "y", "2")
    assert p.restore(5000, power_loss=True) == {"x": "1"}


def test_aof_wins_over_rdb_and_deletes_are_replayed() -> None:
    p = node(appendonly=True, fsync="always", save="1 1")
    p.record_write(10, "a", "1")
    p.maybe_snapshot(3000)
    p.record_write(3100, "a", None)
    p.record_write(3200, "b", "2")
    assert p.restore(4000, power_loss=True) == {"b": "2"}


def test_graceful_shutdown_saves_when_save_points_exist() -> None:
    p = node(save="3600 1")
    writes(p, [100])
    p.shutdown(200)
    assert p.restore(200, power_loss=False) == {"k100": "v100"}
    q = node()
    writes(q, [100])
    q.shutdown(200)
    assert q.restore(200, power_loss=False) == {}


def test_the_model_continues_after_a_restart() -> None:
    p = node(appendonly=True, fsync="everysec")
    writes(p, [100, 1500])
    assert sorted(p.restore(1600, power_loss=True, restart_time=5000)) == ["k100"]
    p.record_write(5100, "z", "1")
    assert p.restore(5200, power_loss=False) == {"k100": "v100", "z": "1"}
    with pytest.raises(ValueError, match="time went backwards"):
        p.record_write(10, "late", "x")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 5000), max_size=30), st.integers(0, 3000), st.booleans())
def test_everysec_power_loss_keeps_exactly_writes_before_the_last_tick(
    offsets: list[int], extra: int, power_loss: bool
) -> None:
    times = sorted(offsets)
    p = node(appendonly=True, fsync="everysec")
    for i, t in enumerate(times):
        p.record_write(t, f"k{i}", "v")
    crash = (times[-1] if times else 0) + extra
    kept = p.restore(crash, power_loss)
    tick = crash // 1000 * 1000
    expected = {f"k{i}" for i, t in enumerate(times) if not power_loss or t < tick}
    assert set(kept) == expected
