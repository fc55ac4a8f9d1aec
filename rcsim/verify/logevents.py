"""Election, migration and persistence events read from the nodes' own log lines
(``loglevel notice``).

Polls cannot see an election being scheduled or a vote; Redis logs them (cluster.c,
7.0.15): ``Start of election delayed for D milliseconds (rank #R, offset O).``
(``clusterHandleSlaveFailover``), ``Starting a failover election for epoch E.``,
``Failover auth granted to <id> for epoch E`` (``clusterSendFailoverAuthIfNeeded``) and
``Manual failover requested by replica <id>.`` (``clusterHandleManualFailover``'s MFSTART,
where the master pauses its clients) and ``Migrating to orphaned master <id>``
(``clusterHandleSlaveMigration``, §13, logged just before the replica runs
``clusterSetMaster`` on the orphan: rcsim's ``migration`` event). Log times are wall clock with 1 ms resolution;
they are turned into the run's clock through the wall-clock time of its origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

LINE = re.compile(r"^\d+:[A-Z] (\d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) [.\-*#] (.*)$")

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "election_scheduled",
        re.compile(
            r"Start of election delayed for (\d+) milliseconds \(rank #(\d+), offset (\d+)\)"
        ),
    ),
    ("election_started", re.compile(r"Starting a failover election for epoch (\d+)")),
    ("vote", re.compile(r"Failover auth granted to ([0-9a-f]{40})(?: \([^)]*\))? for epoch (\d+)")),
    ("mf_paused", re.compile(r"Manual failover requested by replica ([0-9a-f]{40})")),
    ("migration", re.compile(r"Migrating to orphaned master ([0-9a-f]{40})")),
)


PSYNC_ASKED = ("Trying a partial resynchronization", "Partial resynchronization not possible")
PSYNC_PARTIAL = "Successful partial resynchronization with master."
PSYNC_FULL = re.compile(r"Full resync from master: [0-9a-f]{40}:(\d+)")
"""A replica's PSYNC (``slaveTryPartialResynchronization``, replication.c): rcsim's
``psync`` event with ``mode`` partial or full, at the time the replica asked (its
"Trying a partial resynchronization" line, or "not possible" when it asks ``PSYNC ? -1``):
a master that delays a diskless full sync (``repl-diskless-sync-delay``) answers
``+FULLRESYNC`` only when the transfer starts, seconds later. Offsets are bytes of a
different stream, so the event carries none."""

SHUTDOWN_WAIT = "Waiting for replicas before shutting down."
"""``prepareForShutdown`` (server.c): rcsim's ``shutdown_wait``."""

SYNC_LOADING = "MASTER <-> REPLICA sync: Loading DB in memory"
SYNC_DONE = "MASTER <-> REPLICA sync: Finished with success"
RDB_KEYS = re.compile(r"Done loading RDB, keys loaded: (\d+)(?:, keys expired: (\d+))?")
STARTUP_LOADED = re.compile(r"DB loaded from (?:append only file|disk)")


def _persistence(
    message: str,
    node: str,
    master_of: Callable[[str], str | None],
    memory: dict[str, Any],
    when: float,
) -> tuple[float, dict[str, Any]] | None:
    """rcsim's ``psync``, ``full_sync`` and ``loaded`` events; the last two from lines
    that only mean something in sequence (``memory`` is the node's own, kept across calls). A replica's full sync
    (``readSyncBulkPayload``, replication.c) logs ``Loading DB in memory``, then rdbLoad's
    ``Done loading RDB, keys loaded: N``, then ``Finished with success``: that is
    ``full_sync`` with ``keys`` N. A restart that read its data (``loadDataFromDisk``,
    server.c) logs ``DB loaded from append only file`` or ``DB loaded from disk``: that is
    ``loaded``; from an RDB with the ``keys`` loaded and those skipped as ``expired``
    (``Done loading RDB, keys loaded: N, keys expired: M``), from the AOF without them
    (an AOF's increments are not counted in any line)."""
    if any(asked in message for asked in PSYNC_ASKED):
        memory.setdefault("psync_at", when)
        return None
    if PSYNC_PARTIAL in message or PSYNC_FULL.search(message):
        mode = "partial" if PSYNC_PARTIAL in message else "full"
        asked_at = memory.pop("psync_at", when)
        return asked_at, {"kind": "psync", "node": node, "target": master_of(node), "mode": mode}
    if SYNC_LOADING in message:
        memory["syncing"] = True
        memory.pop("keys", None)
        return None
    found = RDB_KEYS.search(message)
    if found is not None:
        memory["keys"] = int(found.group(1))
        if found.group(2) is not None:
            memory["expired"] = int(found.group(2))
        return None
    if SYNC_DONE in message and memory.pop("syncing", False):
        keys = memory.pop("keys", None)
        memory.pop("expired", None)
        event: dict[str, Any] = {"kind": "full_sync", "node": node, "target": master_of(node)}
        if keys is not None:
            event["keys"] = keys
        return when, event
    if STARTUP_LOADED.search(message):
        loaded: dict[str, Any] = {"kind": "loaded", "node": node}
        keys, expired = memory.pop("keys", None), memory.pop("expired", None)
        if "disk" in message and keys is not None:  # an RDB: its counts are the load's
            loaded.update(keys=keys, expired=expired or 0)
        return when, loaded
    return None


def log_time_ms(stamp: str) -> float:
    """A log stamp (``30 Nov 2026 12:14:05.123``, local time) as Unix milliseconds."""
    return datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").timestamp() * 1000.0


def parse_line(
    line: str,
    node: str,
    names: Mapping[str, str],
    master_of: Callable[[str], str | None],
    memory: dict[str, Any] | None = None,
) -> tuple[float, dict[str, Any]] | None:
    """(Unix ms, event without ``t``) for a line that reports an election step, or (with
    the node's ``memory``) a full sync or a load at start-up; else None."""
    match = LINE.match(line)
    if match is None:
        return None
    stamp, message = match.groups()
    if SHUTDOWN_WAIT in message:
        return log_time_ms(stamp), {"kind": "shutdown_wait", "node": node}
    if memory is not None:
        persisted = _persistence(message, node, master_of, memory, log_time_ms(stamp))
        if persisted is not None:
            return persisted
    for kind, pattern in PATTERNS:
        found = pattern.search(message)
        if found is None:
            continue
        event: dict[str, Any] = {"kind": kind, "node": node}
        if kind == "election_scheduled":
            delay, rank, offset = (int(g) for g in found.groups())
            event.update(target=master_of(node), rank=rank, delay_ms=delay, offset=offset)
        elif kind == "election_started":
            event.update(target=master_of(node), epoch=int(found.group(1)))
        elif kind == "vote":
            event.update(
                target=names.get(found.group(1), found.group(1)), epoch=int(found.group(2))
            )
        else:  # mf_paused; migration without previous_master (the polls may show the new one)
            event.update(target=names.get(found.group(1), found.group(1)))
        return log_time_ms(stamp), event
    return None


class LogTail:
    """Reads the complete lines a log file gained since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""
        self.memory: dict[str, Any] = {}  # parse_line's state for this node's log

    def new_lines(self) -> list[str]:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self.offset)
                data = stream.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in lines]
