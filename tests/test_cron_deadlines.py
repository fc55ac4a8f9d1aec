"""The cron visits only the peers whose deadline has come (simulator/node/cron_deadlines.py).

With ``CRON_AUDIT`` on, every tick of every node checks that no peer it left out needed
work (reconnect, handshake expiry, the NT/2 ping, the link refresh, PFAIL) and that the
PFAIL count and the orphaned-master count equal those of Redis's full scan. The golden
traces check that the outcome is byte-identical; this checks the reason, over every
golden run (lessons, failover and partition fidelity runs, resharding).
"""

from __future__ import annotations

import pytest

from simulator.messages import HANDSHAKE, MASTER, NOADDR, PFAIL
from simulator.node import cron_deadlines
from simulator.node.cron_deadlines import NEVER, CronDeadlines, cron_deadline
from simulator.node.peer import PeerView
from tests.golden_traces import recorded, runs


@pytest.mark.parametrize("name", sorted(runs()))
def test_the_deadlines_miss_no_work_and_keep_the_trace(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CronDeadlines, "CRON_AUDIT", True)
    assert runs()[name]() == recorded()[name]


@pytest.mark.parametrize("name", ["lesson/add-node-rebalance/seed1", "lesson/master-crash/seed1"])
def test_running_out_of_heap_numbers_rescans_with_the_same_outcome(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heap entries are ``deadline << SEQ_BITS | seq``; a node that has given out every
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
