"""What a real Redis 7.0.15 master's replication history is after a restart.

Why: rcsim started every restarted master on a new history at offset 0, so its replicas
always needed a full sync. Redis 7.0 (``loadDataFromDisk``, server.c) creates a master's
backlog before loading its RDB and, when the RDB records a replication ID and offset,
keeps that history as its second ID: a replica that holds exactly what the RDB holds
resyncs partially. And ``syncCommand`` (replication.c) gives a master a new replication
ID when its first replica makes it create a backlog. This script records both in
``tests/data/master-restart.json``. It is NOT part of the test suite (it needs
``redis-server`` 7.0.15).

Run from the repository root::

    python3 -m benchmarks.realredis_master_restart --out tests/data/master-restart.json

Method (also in the JSON): a standalone master on 127.0.0.1 and its replica (the
replication code is the one a cluster runs; ``iAmMaster`` is the same test), each case
in a fresh directory, processes started and stopped here by their PIDs:

The replica saves to its own file (``replica.rdb``): a full sync leaves the received RDB
on its disk, which the master would otherwise load.

* ``first_replica``: the master's ``master_replid`` before and after its first replica
  synced.
* ``shutdown``: 100 writes, ``SHUTDOWN`` (``save 3600 1``: it saves, after waiting for
  the replica), restart; the master's history and what the replica's log says.
* ``kill_after_bgsave``: 100 writes, ``BGSAVE``, 100 more, SIGKILL, restart: the
  replica holds more than the RDB.
* ``kill_no_rdb``: ``save ""``, 100 writes, SIGKILL, restart: nothing to load.
* ``ttl_shutdown``: ``SET live v EX 100``, ``SET short v PX 1500``, ``SET plain v``,
  ``SHUTDOWN``, restart 2 s later (``short``'s deadline passed meanwhile): what the
  master's log says it loaded, ``live``'s TTL, and the replica's ``DBSIZE`` once it
  resynced (it counts stored keys, expired or not).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import time

from benchmarks.realredis_servers import Conn, Servers, emit, result_header, servers

PORT = 7395
FIELDS = ("master_replid", "master_replid2", "master_repl_offset", "second_repl_offset")


def info(conn: Conn) -> dict[str, str]:
    text = (conn.cmd(b"INFO", b"replication") or b"").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def history(conn: Conn) -> dict[str, str]:
    fields = info(conn)
    return {name: fields.get(name, "") for name in FIELDS}


def wait_link_up(replica: Conn, after: float = 0.0) -> None:
    deadline = time.monotonic() + 20
    time.sleep(after)
    while info(replica).get("master_link_status") != "up":
        if time.monotonic() > deadline:
            raise SystemExit("the replica's link never came up")
        time.sleep(0.05)


def resync_lines(started: Servers, port: int) -> list[str]:
    """The replica's log lines that say how it resynchronised after the restart."""
    with open(started.log(port)) as log:
        lines = [line.strip() for line in log]
    wanted = re.compile(r"partial resynchronization|Full resync|PSYNC is not possible", re.I)
    return [
        re.sub(r"^\S+ \S+ \S+ \S+ \S+ [.\-*#] ", "", line) for line in lines if wanted.search(line)
    ]


STAMPED = re.compile(r"^\d+:[A-Z] (\d+ \w+ \d+ [\d:.]+) [.\-*#] (.*)$")


def shutdown_lines(started: Servers, port: int) -> list[dict[str, object]]:
    """The master's log from "User requested shutdown" to its exit, with each line's ms
    after that first one."""
    from datetime import datetime

    out: list[dict[str, object]] = []
    with open(started.log(port)) as log:
        for line in log:
            match = STAMPED.match(line.strip())
            if match is None:
                continue
            when = datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S.%f").timestamp() * 1000
            if "User requested shutdown" in match.group(2):
                out = []
                first = when
            if out or "User requested shutdown" in match.group(2):
                out.append({"ms": round(when - first, 1), "line": match.group(2)})
                if "ready to exit" in match.group(2):
                    break
    return out


def writes(master: Conn, start: int, count: int) -> None:
    for i in range(start, start + count):
        master.cmd(b"SET", b"key:%d" % i, b"x" * 10)


def loaded_line(started: Servers, port: int) -> str:
    """The master's last ``Done loading RDB`` line (keys loaded and expired)."""
    with open(started.log(port)) as log:
        lines = [line.strip() for line in log if "Done loading RDB" in line]
    return re.sub(r"^\S+ \S+ \S+ \S+ \S+ [.\-*#] ", "", lines[-1]) if lines else ""


def integer(reply: bytes | None) -> int:
    """An integer reply (``:97``) as a number."""
    return int((reply or b":-1").lstrip(b":"))


def ttl_case() -> dict[str, object]:
    with servers("rcsim-master-restart-ttl-") as started:
        process = started.start(PORT, "--save", "3600 1")
        started.start(
            PORT + 1, "--replicaof", "127.0.0.1", str(PORT), "--dbfilename", "replica.rdb"
        )
        master, replica = Conn(PORT), Conn(PORT + 1)
        wait_link_up(replica)
        master.cmd(b"SET", b"live", b"v", b"EX", b"100")
        master.cmd(b"SET", b"short", b"v", b"PX", b"1500")
        master.cmd(b"SET", b"plain", b"v")
        time.sleep(0.3)
        replica_before = replica.cmd(b"DBSIZE")
        master.send(b"SHUTDOWN")
        process.wait(timeout=30)
        time.sleep(2)
        started.start(PORT, "--save", "3600 1")
        master = Conn(PORT)
        result: dict[str, object] = {"case": "ttl_shutdown"}
        result["master_loaded"] = loaded_line(started, PORT)
        result["master_ttl_live"] = integer(master.cmd(b"TTL", b"live"))
        result["master_dbsize"] = integer(master.cmd(b"DBSIZE"))
        wait_link_up(replica, after=1.5)
        time.sleep(0.3)
        result["replica_dbsize_before"] = integer(replica_before)
        result["replica_dbsize_after"] = integer(replica.cmd(b"DBSIZE"))
        result["replica_log"] = resync_lines(started, PORT + 1)[2:]
        return result


def one_case(case: str) -> dict[str, object]:
    save = ("--save", "") if case == "kill_no_rdb" else ("--save", "3600 1")
    with servers(f"rcsim-master-restart-{case}-") as started:
        process = started.start(PORT, *save)
        master = Conn(PORT)
        before_replica = history(master)
        started.start(
            PORT + 1, "--replicaof", "127.0.0.1", str(PORT), "--dbfilename", "replica.rdb"
        )
        replica = Conn(PORT + 1)
        wait_link_up(replica)
        result: dict[str, object] = {"case": case, "fresh_master": before_replica}
        result["after_first_replica"] = history(master)
        writes(master, 0, 100)
        if case == "kill_after_bgsave":
            master.cmd(b"BGSAVE")
            time.sleep(1)
            writes(master, 100, 100)
        time.sleep(0.5)
        result["before_restart"] = history(master)
        result["replica_before_restart"] = history(replica)
        if case == "shutdown":
            master.send(b"SHUTDOWN")
            process.wait(timeout=30)
        else:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        started.start(PORT, *save)
        master = Conn(PORT)
        if case == "shutdown":
            result["shutdown_log"] = shutdown_lines(started, PORT)
        result["after_restart"] = history(master)
        wait_link_up(replica, after=1.5)
        result["after_resync"] = history(master)
        result["replica_log"] = resync_lines(started, PORT + 1)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/data/master-restart.json")
    args = parser.parse_args()
    cases = [one_case(case) for case in ("shutdown", "kill_after_bgsave", "kill_no_rdb")]
    result = result_header(
        "a master's replication history after its first replica and after a restart",
        "python3 -m benchmarks.realredis_master_restart --out " + args.out,
    )
    result["method"] = (__doc__ or "").split("Method (also in the JSON): ")[1].strip()
    result["cases"] = cases
    result["ttl"] = ttl_case()
    print(emit(result, args.out))


if __name__ == "__main__":
    main()
