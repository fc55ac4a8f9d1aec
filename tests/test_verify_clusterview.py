"""rcsim verify reads CLUSTER NODES / INFO replies: real Redis 7.0.15 text, and rcsim's
own (simulator.introspection) through the same parser."""

from __future__ import annotations

from rcsim.verify.clusterview import format_ranges, parse_info, parse_nodes, snapshot
from rcsim.verify.scenario_api import load_scenario
from rcsim.verify.simside import snapshots
from simulator.harness.runner import build

# Verbatim from a real 7.0.15 cluster (failed-master-no-failover-3m3r, during PFAIL).
REAL = """\
7202a87e4dee81b68abfa9df9570d739f884a0f5 127.0.0.1:21176@31176 slave,nofailover d952dbb690a6329c6d986609f411574734978d2e 0 1795899732221 1 connected
d952dbb690a6329c6d986609f411574734978d2e 127.0.0.1:21173@31173 master,fail?,nofailover - 1795899730205 1795899729200 1 disconnected 0-5460
402a553021e5540266f3d3be82b0b83e0880a9b6 127.0.0.1:21174@31174 myself,master,nofailover - 0 1795899732000 2 connected 5461-10922
97f109aa991563abbf21241b4a9a2dc5640e8023 127.0.0.1:21175@31175 master,nofailover - 0 1795899732020 3 connected 10923-16383 [42->-402a553021e5540266f3d3be82b0b83e0880a9b6] [7-<-d952dbb690a6329c6d986609f411574734978d2e]
"""
NAMES = {
    "d952dbb690a6329c6d986609f411574734978d2e": "n1",
    "402a553021e5540266f3d3be82b0b83e0880a9b6": "n2",
    "97f109aa991563abbf21241b4a9a2dc5640e8023": "n3",
    "7202a87e4dee81b68abfa9df9570d739f884a0f5": "n4",
}


def test_real_lines_parse_with_scenario_flag_words() -> None:
    lines = parse_nodes(REAL)
    assert len(lines) == 4
    replica, failing, me, other = lines
    assert replica.flags == {"replica", "nofailover"}
    assert replica.master_id == failing.node_id
    assert failing.flags == {"master", "pfail", "nofailover"}
    assert failing.link == "disconnected"
    assert failing.slots == tuple(range(0, 5461))
    assert "myself" in me.flags and me.config_epoch == 2
    assert other.slots == tuple(range(10923, 16384))
    assert other.migrating == ((42, me.node_id),)
    assert other.importing == ((7, failing.node_id),)


def test_snapshot_names_peers_and_keeps_stable_fields_only() -> None:
    info = "cluster_state:fail\r\ncluster_slots_fail:0\r\ncluster_stats_messages_sent:99\r\n"
    view = snapshot("n2", REAL, info, NAMES)
    assert list(view.peers) == ["n1", "n2", "n3", "n4"]
    assert view.state == "fail"
    assert view.role() == "master"
    assert view.flags_of("n1") == {"master", "pfail", "nofailover"}
    assert "cluster_stats_messages_sent" not in view.info
    table = view.slot_table()
    assert table[0] == "n1" and table[5461] == "n2" and table[16383] == "n3"
    # ping/pong columns and counters change every poll; the snapshot does not
    later = REAL.replace("1795899732221", "1795899732999")
    assert snapshot("n2", later, info.replace("99", "120"), NAMES) == view


def test_replica_view_names_its_master() -> None:
    text = REAL.replace("myself,master", "master").replace("slave,nofailover", "myself,slave")
    view = snapshot("n4", text, "cluster_state:ok\r\n", NAMES)
    assert view.role() == "replica"
    assert view.master_name(NAMES) == "n1"


def test_parse_info_skips_comments_and_blank_lines() -> None:
    assert parse_info("# Replication\r\nrole:slave\r\n\r\nmaster_link_status:up\r\n") == {
        "role": "slave",
        "master_link_status": "up",
    }


def test_format_ranges() -> None:
    assert format_ranges([5, 0, 1, 2, 9]) == "0-2 5 9"
    assert format_ranges([]) == "-"


def test_rcsim_cluster_nodes_read_by_the_same_parser() -> None:
    sim = build(load_scenario("master-crash"), 1)
    views, status = snapshots(sim)
    assert set(views) == {f"n{i}" for i in range(1, 7)}
    assert all(s == "running" for s in status.values())
    assert views["n4"].role() == "replica"
    assert views["n1"].my_slots() == tuple(range(0, 5461))
    assert {v.slot_table() for v in views.values()} == {views["n1"].slot_table()}
