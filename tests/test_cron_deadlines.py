"""The cron visits only the peers whose deadline has come (simulator/node/cron_deadlines.py).

With ``CRON_AUDIT`` on, every tick of every node checks that no peer it left out needed
work (reconnect, handshake expiry, the NT/2 ping, the link refresh, PFAIL) and that the
PFAIL count and the orphaned-master count equal those of Redis's full scan. The golden
traces check that the outcome is byte-identical; this checks the reason, over every
golden run (lessons, failover and partition fidelity runs, resharding). The audited runs
are the ones the golden test reads (tests/shared_runs.py), made once.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.harness.runner import run
from simulator.messages import HANDSHAKE, MASTER, NOADDR, PFAIL
from simulator.node import cron_deadlines
from simulator.node.cron_deadlines import NEVER, CronDeadlines, cron_deadline
from simulator.node.peer import PeerView
from simulator.scenario import load_scenario
from tests.golden_traces import digest, recorded, runs
from tests.shared_runs import golden_run, group, on_group


@pytest.mark.parametrize("name", [on_group(group(golden=name), name) for name in sorted(runs())])
def test_the_deadlines_miss_no_work_and_keep_the_trace(name: str) -> None:
    shared = golden_run(name)  # made with the audit on, as the golden test reads it
    assert shared.audit_failure is None
    assert shared.digest == recorded()[name]


@pytest.mark.parametrize(
    "name",
    [
        "lesson/master-crash/seed2",
        "lesson/replica-migration/seed2",
        "fidelity/failover/3+1/nt1000/SIGKILL/seed1",
    ],
)
def test_without_the_audit_the_trace_is_the_recorded_one(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The golden digests are read from audited runs (tests/shared_runs.py; the audit
    reads only). Runs without the audit, as ``rcsim`` makes
    them, must give the same digests (and would show an audit that changes the run)."""
    monkeypatch.setattr(CronDeadlines, "CRON_AUDIT", False)
    assert runs()[name]() == recorded()[name]


def test_the_audit_reads_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each audit check leaves ``_pfail_watch`` and ``_orphan_watch`` as they were, though
    the counts it compares change them (so without the restore the audit would change
    the run), and the audited run gives the recorded digest."""
    touched = 0
    inside = False
    count_pfail = CronDeadlines._count_pfail
    orphaned = CronDeadlines._orphaned_masters

    def noting(method: Any) -> Any:
        def wrapper(self: CronDeadlines) -> int:
            nonlocal touched
            before = (list(self._pfail_watch), self._orphan_watch)
            result = method(self)
            after = (list(self._pfail_watch), self._orphan_watch)
            touched += inside and after != before
            return int(result)

        return wrapper

    audit = CronDeadlines._cron_audit

    def checked(self: CronDeadlines, due: list[PeerView], now: int, nt: int) -> None:
        nonlocal inside
        before = (list(self._pfail_watch), self._orphan_watch)
        inside = True
        try:
            audit(self, due, now, nt)
        finally:
            inside = False
        assert list(self._pfail_watch) == before[0]
        assert self._orphan_watch is before[1]

    monkeypatch.setattr(CronDeadlines, "CRON_AUDIT", True)
    monkeypatch.setattr(CronDeadlines, "_count_pfail", noting(count_pfail))
    monkeypatch.setattr(CronDeadlines, "_orphaned_masters", noting(orphaned))
    monkeypatch.setattr(CronDeadlines, "_cron_audit", checked)
    sim = run(load_scenario("replica-migration"), 2)
    assert touched > 0, "the audit's counts no longer change the watches: drop the restore"
    assert digest(sim.trace.events) == recorded()["lesson/replica-migration/seed2"]


@pytest.mark.parametrize("name", ["lesson/add-node-rebalance/seed1", "lesson/master-crash/seed1"])
def test_running_out_of_heap_numbers_rescans_with_the_same_outcome(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calendar entries are ``deadline << SEQ_BITS | seq``; a node that has given out every
    ``seq`` files new peers under 0 (no peer) and its next tick scans every peer and
    renumbers them. With only 3 numbers, every node runs out at the build and again at
    each later ``add_peer``: the audit and the trace must not notice."""
    monkeypatch.setattr(CronDeadlines, "CRON_AUDIT", True)
    monkeypatch.setattr(cron_deadlines, "_SEQ_LIMIT", 3)
    out_of_numbers = 0
    add_peer = CronDeadlines.add_peer

    def counting(self: CronDeadlines, peer: PeerView) -> None:
        nonlocal out_of_numbers
        add_peer(self, peer)
        out_of_numbers += peer.seq == 0

    monkeypatch.setattr(CronDeadlines, "add_peer", counting)
    assert runs()[name]() == recorded()[name]
    assert out_of_numbers > 0


def _peer(flags: int = MASTER) -> PeerView:
    peer = PeerView("n1", "id", 1, flags)
    peer.link = True
    return peer


def test_deadline_of_each_rule() -> None:
    nt = 15_000
    peer = _peer()
    peer.pong_received = 1_000
    assert cron_deadline(peer, nt) == 1_000 + 7_500 + 1  # the NT/2 ping
    peer.ping_sent, peer.data_received, peer.link_ctime = 2_000, 3_000, 10_000
    # PFAIL at max(ping, data) + NT, before the link refresh at max(...NT/2, link + NT)
    assert cron_deadline(peer, nt) == 3_000 + 15_000 + 1
    peer.flags |= PFAIL  # no second PFAIL: only the link refresh is left
    assert cron_deadline(peer, nt) == 10_000 + 15_000 + 1
    peer.link_ctime = -10_000  # an old link: the refresh waits for ping and data
    assert cron_deadline(peer, nt) == 3_000 + 7_500 + 1
    peer.link = False
    assert cron_deadline(peer, nt) == 0
    handshake = _peer(HANDSHAKE)
    handshake.ctime = 500
    assert cron_deadline(handshake, 800) == 500 + 1000 + 1
    assert cron_deadline(_peer(NOADDR), nt) == NEVER
