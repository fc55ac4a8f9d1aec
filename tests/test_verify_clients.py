"""The real clients' bookkeeping: reply outcomes in rcsim's words, and acknowledgements
put in the order their replies were read before rcsim's ledger judges them."""

from __future__ import annotations

from rcsim.verify.clients import ledger_of, lost_count, outcome_of
from rcsim.verify.resp import RespError


def test_outcomes() -> None:
    assert outcome_of("OK") == "ok"
    assert outcome_of(None) == "ok"
    assert outcome_of(RespError("MOVED 42 127.0.0.21:7101")) == "moved"
    assert outcome_of(RespError("ASK 42 127.0.0.21:7101")) == "ask"
    assert (
        outcome_of(RespError("TRYAGAIN Multiple keys request during rehashing of slot"))
        == "tryagain"
    )
    assert outcome_of(RespError("CLUSTERDOWN The cluster is down")) == "clusterdown"
    assert outcome_of(RespError("WRONGTYPE Operation against a key")) == "error"


def test_acks_recorded_out_of_order_are_judged_in_reply_order() -> None:
    # app:2's reply was read first but its thread recorded it second
    acks = [(10.0021, "k", "app:1", "n1", "app"), (10.0013, "k", "app:2", "n1", "app")]
    ledger = ledger_of(acks)
    assert [w.value for w in ledger.writes("k")] == ["app:2", "app:1"]
    assert ledger.lost_writes({"k": "app:1"}.get) == []
    assert [w.value for w in ledger.lost_writes({"k": "app:2"}.get)] == ["app:1"]


def test_lost_count_after_the_clients_stopped_is_the_ledger_rule() -> None:
    acks = [(1.0, "k", "app:1", "n1", "app"), (2.0, "k", "app:2", "n1", "app")]
    assert lost_count(acks, set(), {"k": ("app:2", 5.0)}) == 0
    assert lost_count(acks, set(), {"k": ("app:1", 5.0)}) == 1
    assert lost_count(acks, set(), {"k": (None, 5.0)}) == 2
    assert lost_count(acks, set(), {"k": ("app:0", 5.0)}) == 2  # never acknowledged


def test_a_newer_write_seen_while_clients_write_hides_nothing() -> None:
    acks = [(1.0, "k", "app:1", "n1", "app"), (3.2, "k", "app:3", "n1", "app")]
    # app:3 was in flight when k was read at 3.0 and acknowledged at 3.2
    assert lost_count(acks, set(), {"k": ("app:3", 3.0)}) == 0
    # app:4 is still in flight
    assert lost_count(acks, {"app:4"}, {"k": ("app:4", 3.0)}) == 0
    # a write acknowledged after the read is not judged by that read
    assert lost_count(acks, set(), {"k": ("app:1", 3.0)}) == 0
    # an older value nobody is writing: the acknowledged app:1 is lost
    assert lost_count(acks, set(), {"k": ("app:0", 3.0)}) == 1
    # a key first written after the read-back began is not judged by it
    assert (
        lost_count([*acks, (3.5, "new", "app:5", "n2", "app")], set(), {"k": ("app:3", 3.0)}) == 0
    )


class FakeConnection:
    """Answers GETs from one node's keyspace (a RespError for a slot it would redirect)."""

    def __init__(self, data: dict[str, object]) -> None:
        self.data = data
        self.sent: list[list[tuple[str, str]]] = []
        self.closed = False

    def pipeline(self, commands: list[tuple[str, str]]) -> list[object]:
        self.sent.append(commands)
        return [self.data.get(key) for _, key in commands]

    def close(self) -> None:
        self.closed = True


def test_read_back_asks_each_slots_owner_directly_in_pipelines() -> None:
    from rcsim.verify.clients import read_owned
    from simulator.slots import key_hash_slot

    a, b = ("127.0.0.20", 7100), ("127.0.0.21", 7101)
    keys = [f"{{a52}}:{i}" for i in range(3)] + ["foo", "lost"]
    assert key_hash_slot("{a52}:0") == 42 and key_hash_slot("foo") == 12182
    owners = {42: a, 12182: b}  # "lost"'s slot, 675, has no known owner
    connections = {
        a: FakeConnection({"{a52}:0": "v0", "{a52}:2": RespError("ASK 42 127.0.0.21:7101")}),
        b: FakeConnection({"foo": "bar"}),
    }
    reads = read_owned(keys, owners.get, connections.__getitem__)
    assert {k: v for k, (v, _) in reads.items()} == {
        "{a52}:0": "v0",
        "{a52}:1": None,
        "{a52}:2": None,
        "foo": "bar",
        "lost": None,
    }
    assert connections[a].sent == [[("GET", k) for k in keys[:3]]]  # one pipeline
    assert all(c.closed for c in connections.values())
