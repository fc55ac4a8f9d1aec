"""Election steps read from real log lines (Redis 7.0.15 and Valkey formats)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from rcsim.verify.logevents import LogTail, log_time_ms, parse_line

N4 = "7202a87e4dee81b68abfa9df9570d739f884a0f5"
NAMES = {N4: "n4"}


def master_of(name: str) -> str | None:
    return {"n4": "n1"}.get(name)


def test_election_scheduled() -> None:
    line = "28507:S 30 Nov 2026 12:16:47.427 # Start of election delayed for 612 milliseconds (rank #0, offset 1234)."
    parsed = parse_line(line, "n4", NAMES, master_of)
    assert parsed is not None
    unix_ms, event = parsed
    assert unix_ms == datetime(2026, 11, 30, 12, 16, 47, 427000).timestamp() * 1000
    assert event == {
        "kind": "election_scheduled",
        "node": "n4",
        "target": "n1",
        "rank": 0,
        "delay_ms": 612,
        "offset": 1234,
    }


def test_election_started_vote_and_manual_failover() -> None:
    started = parse_line(
        "1:S 1 Dec 2026 00:00:00.001 # Starting a failover election for epoch 7.",
        "n4",
        NAMES,
        master_of,
    )
    assert started is not None and started[1] == {
        "kind": "election_started",
        "node": "n4",
        "target": "n1",
        "epoch": 7,
    }
    for text in (
        f"Failover auth granted to {N4} for epoch 7",
        f"Failover auth granted to {N4} (n4.example) for epoch 7",
    ):
        vote = parse_line(f"9:M 1 Dec 2026 00:00:00.002 # {text}", "n2", NAMES, master_of)
        assert vote is not None and vote[1] == {
            "kind": "vote",
            "node": "n2",
            "target": "n4",
            "epoch": 7,
        }
    paused = parse_line(
        f"9:M 1 Dec 2026 00:00:00.003 * Manual failover requested by replica {N4}.",
        "n1",
        NAMES,
        master_of,
    )
    assert paused is not None and paused[1] == {"kind": "mf_paused", "node": "n1", "target": "n4"}


def test_other_lines_are_not_events() -> None:
    assert (
        parse_line(
            "28509:M 30 Nov 2026 12:16:47.456 * Ready to accept connections tcp",
            "n1",
            NAMES,
            master_of,
        )
        is None
    )
    assert parse_line("not a log line", "n1", NAMES, master_of) is None


def test_log_time_is_local_wall_clock() -> None:
    assert (
        log_time_ms("01 Jan 2027 00:00:00.250")
        == datetime(2027, 1, 1, 0, 0, 0, 250000).timestamp() * 1000
    )


def test_tail_returns_complete_new_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    tail = LogTail(path)
    assert tail.new_lines() == []
    path.write_text("one\ntw")
    assert tail.new_lines() == ["one"]
    with path.open("a") as stream:
        stream.write("o\nthree\n")
    assert tail.new_lines() == ["two", "three"]
    assert tail.new_lines() == []


def test_replica_migration_is_rcsims_migration_event() -> None:
    n3 = "3a5c0e2d1f00000000000000000000000000beef"
    line = f"77:S 30 Nov 2026 15:20:01.250 # Migrating to orphaned master {n3}"
    parsed = parse_line(line, "n4", {**NAMES, n3: "n3"}, master_of)
    assert parsed is not None
    assert parsed[1] == {"kind": "migration", "node": "n4", "target": "n3"}


SYNC_LINES = """\
12070:S 30 Nov 2026 15:12:01.315 * Full resync from master: 7eeb5400a4fef278153b43cc4c72331256c9be2d:0
12070:S 30 Nov 2026 15:12:01.315 * MASTER <-> REPLICA sync: Flushing old data
12070:S 30 Nov 2026 15:12:01.315 * MASTER <-> REPLICA sync: Loading DB in memory
12070:S 30 Nov 2026 15:12:01.321 * Loading RDB produced by version 7.0.15
12070:S 30 Nov 2026 15:12:01.322 * Done loading RDB, keys loaded: 0, keys expired: 0.
12070:S 30 Nov 2026 15:12:01.322 * MASTER <-> REPLICA sync: Finished with success"""
"""Redis 7.0.15's log of a replica's full sync from a master restarted empty."""


def _events(text: str, node: str, memory: dict[str, object]) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        parsed = parse_line(line, node, NAMES, master_of, memory)
        if parsed is not None:
            out.append(parsed[1])
    return out


def test_a_full_sync_is_rcsims_full_sync_event_with_the_keys_loaded() -> None:
    memory: dict[str, object] = {}
    assert _events(SYNC_LINES, "n4", memory) == [
        {"kind": "psync", "node": "n4", "target": "n1", "mode": "full"},
        {"kind": "full_sync", "node": "n4", "target": "n1", "keys": 0},
    ]
    with_keys = SYNC_LINES.replace("keys loaded: 0", "keys loaded: 173")
    assert _events(with_keys, "n4", memory)[-1]["keys"] == 173
    # without the node's memory the lines mean nothing on their own
    assert [parse_line(line, "n4", NAMES, master_of) for line in SYNC_LINES.splitlines()] == [
        None
    ] * 6


def test_a_restart_that_read_its_aof_is_rcsims_loaded_event() -> None:
    lines = """\
9:M 30 Nov 2026 15:20:00.100 * Loading RDB produced by version 7.0.15
9:M 30 Nov 2026 15:20:00.101 * Done loading RDB, keys loaded: 120, keys expired: 0.
9:M 30 Nov 2026 15:20:00.102 * DB loaded from append only file: 0.002 seconds"""
    memory: dict[str, object] = {}
    assert _events(lines, "n2", memory) == [{"kind": "loaded", "node": "n2"}]
    # a start-up RDB load is not mistaken for a full sync afterwards
    assert _events(SYNC_LINES.splitlines()[-1], "n2", memory) == []


def test_psync_answers_are_psync_events_with_their_mode() -> None:
    """The replica's lines after a PSYNC, as real 7.0.15 logged them
    (tests/data/master-restart.json): partial, or a full resync at the master's offset."""
    real = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())
    lines = {case["case"]: case["replica_log"][-1] for case in real["cases"]}
    partial = next(line for line in real["cases"][0]["replica_log"] if "Successful" in line)
    for text, mode in (
        (partial, "partial"),
        (lines["kill_after_bgsave"], "full"),
        (lines["kill_no_rdb"], "full"),
    ):
        parsed = parse_line(f"7:S 4 Dec 2026 18:00:00.250 * {text}", "n4", NAMES, master_of, {})
        assert parsed is not None, text
        assert parsed[1] == {"kind": "psync", "node": "n4", "target": "n1", "mode": mode}
    trying = (
        "7:S 4 Dec 2026 18:00:00.250 * Partial resynchronization not possible (no cached master)"
    )
    assert parse_line(trying, "n4", NAMES, master_of, {}) is None


def test_a_restart_from_an_rdb_is_a_loaded_event_with_the_keys_and_those_expired() -> None:
    real = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())
    lines = (
        f"9:M 4 Dec 2026 18:00:00.100 * {real['ttl']['master_loaded']}\n"
        "9:M 4 Dec 2026 18:00:00.101 * DB loaded from disk: 0.000 seconds"
    )
    assert _events(lines, "n1", {}) == [{"kind": "loaded", "node": "n1", "keys": 2, "expired": 1}]


def test_a_master_waiting_for_its_replicas_before_shutting_down_is_a_shutdown_wait() -> None:
    real = json.loads((Path(__file__).parent / "data" / "master-restart.json").read_text())
    shutdown = next(case for case in real["cases"] if case["case"] == "shutdown")
    line = shutdown["shutdown_log"][1]["line"]
    parsed = parse_line(f"9:M 4 Dec 2026 18:00:00.100 # {line}", "n1", NAMES, master_of)
    assert parsed is not None and parsed[1] == {"kind": "shutdown_wait", "node": "n1"}


def test_a_psync_is_timed_when_the_replica_asked_not_when_a_delayed_full_sync_began() -> None:
    """A diskless full sync waits ``repl-diskless-sync-delay`` before the master answers
    +FULLRESYNC: the replica logged its request 5 s before "Full resync from master"."""
    lines = (
        "7:S 4 Dec 2026 19:00:11.020 * Trying a partial resynchronization (request "
        + "a" * 40
        + ":9000).\n"
        "7:S 4 Dec 2026 19:00:16.069 * Full resync from master: " + "b" * 40 + ":0"
    )
    memory: dict[str, object] = {}
    found = [
        parsed
        for line in lines.splitlines()
        if (parsed := parse_line(line, "n4", NAMES, master_of, memory)) is not None
    ]
    assert len(found) == 1
    unix_ms, event = found[0]
    assert unix_ms == datetime(2026, 12, 4, 19, 0, 11, 20000).timestamp() * 1000
    assert event == {"kind": "psync", "node": "n4", "target": "n1", "mode": "full"}
