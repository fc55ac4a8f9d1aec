"""The write ledger's lost-write rule (§20.2), by property over random histories."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.dataplane.ledger import WriteLedger

KEYS = ["a", "b", "c"]


def test_overwritten_write_is_not_lost_while_a_later_ack_is_visible() -> None:
    ledger = WriteLedger()
    w1 = ledger.record("k", "v1", 10, "n1", "c1")
    w2 = ledger.record("k", "v2", 20, "n1", "c2")
    assert (w1.version, w2.version) == (1, 2)
    assert ledger.lost_writes({"k": "v2"}.get) == []
    # the owner went back to v1 (failover to a lagging replica): only w2 is lost
    assert ledger.lost_writes({"k": "v1"}.get) == [w2]
    # the key vanished (restart without persistence): both are lost
    assert ledger.lost_writes({}.get) == [w1, w2]
    # a value no acked write produced (an unacknowledged write) counts as losing both
    assert ledger.lost_writes({"k": "ghost"}.get) == [w1, w2]
    assert ledger.lost_keys({}.get) == ["k"]


def test_acked_delete_is_visible_as_absence() -> None:
    ledger = WriteLedger()
    ledger.record("k", "v1", 1, "n1", "c")
    ledger.record("k", None, 2, "n1", "c")
    assert ledger.lost_writes({}.get) == []
    assert [w.value for w in ledger.lost_writes({"k": "v1"}.get)] == [None]


def test_acks_must_be_recorded_in_time_order() -> None:
    ledger = WriteLedger()
    ledger.record("k", "v1", 10, "n1", "c")
    with pytest.raises(ValueError, match="record acks in time order"):
        ledger.record("k", "v2", 9, "n1", "c")


# A tiny shard: one master, one replica, asynchronous replication, failovers. Every
# write the master applies is acknowledged; the replica copies a prefix of the master's
# write stream; a failover promotes the replica and discards the master's extra writes.
ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(KEYS), st.booleans()),
        st.tuples(st.just("replicate"), st.integers(0, 5), st.just(False)),
        st.tuples(st.just("failover"), st.just(0), st.just(False)),
        st.tuples(st.just("stray"), st.sampled_from(KEYS), st.just(False)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_a_write_is_lost_exactly_when_it_cannot_be_read(
    history: list[tuple[str, object, bool]],
) -> None:
    ledger = WriteLedger()
    master: list[tuple[str, str | None]] = []  # the master's write stream
    applied = 0  # how much of it the replica has
    seq = 0
    for op, arg, delete in history:
        if op == "write":
            seq += 1
            value = None if delete else f"v{seq}"
            master.append((str(arg), value))
            ledger.record(str(arg), value, seq, "m", "c")
        elif op == "replicate":
            applied = min(len(master), applied + int(str(arg)))
        elif op == "failover":
            master = master[:applied]
        else:  # an unacknowledged write reaches the owner (e.g. a timed-out client)
            seq += 1
            master.append((str(arg), f"stray{seq}"))
    current: dict[str, str] = {}
    for key, value in master:
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    lost = ledger.lost_writes(current.get)
    # Oracle: w is readable iff the owner shows w's value or that of a later ack of the key.
    for w in ledger.writes():
        later_or_same = {x.value for x in ledger.writes(w.key) if x.version >= w.version}
        assert (w in lost) is (current.get(w.key) not in later_or_same)
    # Operational checks: without failovers or stray writes nothing is lost...
    if all(op in ("write", "replicate") for op, _, _ in history):
        assert lost == []
    # ...and the latest ack of a key is lost iff the owner does not hold its value.
    for key in ledger.written_keys():
        latest = ledger.latest(key)
        assert latest is not None
        assert (latest in lost) is (current.get(key) != latest.value)
