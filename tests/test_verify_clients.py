"""The real clients' bookkeeping: reply outcomes in rcsim's words, and acknowledgements
put in the order their replies were read before rcsim's ledger judges them."""

from __future__ import annotations

from rcsim.verify.clients import ledger_of, outcome_of
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
