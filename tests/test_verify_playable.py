"""What cannot be played on a real cluster is said up front, with exit 2 and nothing
started; the unit suite never starts a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from rcsim.cli import main
from rcsim.verify.playable import refusals, unobservable_expects, unplayable_action
from rcsim.verify.scenario_api import load_scenario, parse_scenario

PARTITIONED = """\
name: partition and a workload
cluster: {masters: 3, replicas: 1}
clients:
  - {name: app, rate: 10/s}
steps:
  - at: 1s
    partition: [[n1, app], [n2, n3, n4, n5, n6]]
  - wait_for: {event: {kind: full_sync, node: n4}}
  - publish: {channel: news, message: hi}
  - reshard: {from: n1, to: n2, slots: "0-9"}
  - wait_for: {event: {kind: fail, target: n1, via: quorum}}
expect:
  - lost_writes: 0
  - role: {n4: master}
"""


def test_every_reason_is_listed_with_its_position() -> None:
    scenario = parse_scenario(PARTITIONED, "p.yaml")
    reasons = refusals(scenario, "partitions need root")
    assert reasons == [
        "p.yaml:7:5: 'partition': partitions need root",
        "p.yaml:11:16: wait_for the 'fail' event's field(s) via are not observable on a real cluster",
    ]
    assert unobservable_expects(scenario) == []


def test_a_migration_during_a_partition_is_played() -> None:
    """The nodes run as their own uids, so the firewall stops MIGRATE too (see
    tests/test_verify_firewall.py)."""
    assert refusals(load_scenario("open-slot"), None) == []
    assert refusals(parse_scenario(PARTITIONED, "p.yaml"), None) == [
        "p.yaml:11:16: wait_for the 'fail' event's field(s) via are not observable on a real cluster"
    ]


def test_clients_in_partitions_can_be_played_as_root() -> None:
    scenario = parse_scenario(PARTITIONED, "p.yaml")
    assert not any("'partition'" in r for r in refusals(scenario, None))


@pytest.mark.parametrize(
    "name",
    [
        "master-crash",
        "paused-master-returns",
        "manual-failover",
        "no-replica",
        "majority-down",
        "replica-ranking",
        "minority-partition",
        "add-node-rebalance",
        "live-resharding",
        "hello-cluster",
        "pubsub",
        "replica-migration",
        "real-clients",
        "persistence-trap",
        "open-slot",
        "cache-stampede",
        "invalidation-lost",
        "client-side-caching",
        "one-instance-or-cluster",
        "one-instance-or-cluster-3-shards",
    ],
)
def test_lessons_that_can_be_played(name: str) -> None:
    assert refusals(load_scenario(name), None) == []


def test_cli_refuses_up_front_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PARTITIONED, encoding="utf-8")
    assert main(["verify", str(path), "--server", str(tmp_path / "no-such-server")]) == 2
    err = capsys.readouterr().err
    assert "cannot be played on a real cluster" in err
    assert "wait_for the 'fail' event's field(s) via are not observable" in err
    assert "'publish'" not in err  # pub/sub is played for real (rcsim/verify/pubsub.py)


def test_cli_missing_server_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["verify", "master-crash", "--server", str(tmp_path / "no-such-server")]) == 2
    assert "server binary not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("mass-failure", "200 nodes: more than the 100 real servers verify starts"),
    ],
)
def test_lessons_verify_would_play_as_something_else_are_refused(name: str, reason: str) -> None:
    """An action the player doesn't know, or a setting a real server doesn't have, would
    compare another scenario or stop half-way: refused up front."""
    assert any(reason in r for r in refusals(load_scenario(name), None))


def test_every_registered_action_is_played_or_refused() -> None:
    """A new action is refused by verify until its player learns it (no RuntimeError
    half-way through a real run)."""
    from rcsim.verify.playable import PLAYED_ACTIONS
    from simulator.scenario.action_table import ACTIONS

    unplayed = [d for d in ACTIONS.values() if not issubclass(d.cls, PLAYED_ACTIONS)]
    assert sorted(d.key for d in unplayed) == ["expire"]
    for definition in unplayed:
        action = object.__new__(definition.cls)  # fields unused: refused by its class
        assert unplayable_action(action, None) is not None, definition.key


def test_caching_clients_are_played_and_their_waits_observable() -> None:
    """cache-aside (rcsim/verify/cacheaside.py) and local-cache clients
    (rcsim/verify/tracking.py) are played; their events can be waited on; a waited event
    field the real side does not record is still refused."""
    scenario = load_scenario("client-side-caching")
    assert unobservable_expects(scenario) == []
    assert unobservable_expects(load_scenario("invalidation-lost")) == []
    text = """\
name: t
cluster: {masters: 3, replicas: 1}
clients:
  - {name: web, rate: 10/s, keys: "k:{i}", cache: {ttl: 1s, stampede: lock}}
  - {name: near, rate: 10/s, writes: 0, local_cache: {flush_on: []}}
steps:
  - wait_for: {event: {kind: stale_read, client: web}}
  - wait_for: {event: {kind: invalidation, target: near, why: write}}
  - wait_for: {event: {kind: db_query, client: web}}
"""
    assert refusals(parse_scenario(text, "t.yaml"), None) == [
        "t.yaml:8:16: wait_for the 'invalidation' event's field(s) why are not observable on a real cluster",
        "t.yaml:9:16: wait_for a 'db_query' event is not observable on a real cluster",
    ]


def test_the_scaled_down_mass_failure_is_played() -> None:
    """kill-masters is played (rcsim.verify.victims); 30 nodes are within the measured bound."""
    scenario = load_scenario("scenarios/fidelity/mass-failure-small.yaml")
    assert refusals(scenario, None) == []
    assert refusals(load_scenario("mass-failure"), None) == [
        "scenarios/mass-failure.yaml:15:3: 200 nodes: more than the 100 real servers verify "
        "starts on one host (measured: 200 never became healthy within 60 s on 2 cores, load "
        'average 147; see docs/fidelity.md, "Mass failure on a real cluster"; '
        "scenarios/fidelity/mass-failure-small.yaml is the played variant)"
    ]
