"""When do the other masters clear FAIL after a killed master without replicas restarts?

A second measurement of partition-behaviour.json's part C (which has 2 runs, poll-based):
the same set-up (3 masters, no replicas, node-timeout 2000, SIGKILL of the first master,
restart from its nodes.conf 9 s later), timed from the servers' own log lines instead of
20 ms polls. Per run: the wall-clock time just before the restarted process was spawned,
its "Ready to accept connections" line, each other master's "Clear FAIL state" and
"Cluster state changed: ok" lines, and the restarted node's own "Cluster state changed: ok".
The kill lands a random 0-1 s after the cluster is healthy, so the others' cron phases
are unrelated to the restart moment.

Run: ``python3 tests/data/restart_reconnect_probe.py > tests/data/restart-reconnect.json``
with ``redis-server`` 7.0.15 on the PATH. Uses 127.0.0.1:7700-7702 (bus 17700-17702) in a
fresh temporary directory per run; stops its servers by PID.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

from setslot_cost_probe import Conn, start_servers, stop_servers

PORTS = [7700, 7701, 7702]
NODE_TIMEOUT = 2000
RESTART_AFTER_S = 9.0
RUNS = int(os.environ.get("PROBE_RUNS", "12"))
LOG_TIME = re.compile(r"^\d+:\w (\d+ \w+ \d+ \d+:\d+:\d+\.\d+) [.\-*#] (.*)$")


def log_lines(path: str) -> list[tuple[float, str]]:
    """(wall-clock seconds, message) of every line of a redis log."""
    out = []
    with open(path) as fh:
        for line in fh:
            m = LOG_TIME.match(line.strip())
            if m:
                when = datetime.datetime.strptime(m.group(1), "%d %b %Y %H:%M:%S.%f")
                out.append((when.timestamp(), m.group(2)))
    return out


def first_after(lines: list[tuple[float, str]], t0: float, text: str) -> float | None:
    for when, msg in lines:
        if when >= t0 - 0.002 and text in msg:
            return round((when - t0) * 1000.0, 1)
    return None


def healthy(conns: list[Conn]) -> bool:
    return all("cluster_state:ok" in str(c.cmd("CLUSTER", "INFO")) for c in conns)


def one_run(rng: random.Random) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="restart-")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_servers(PORTS, tmp, procs, node_timeout=NODE_TIMEOUT)
        time.sleep(0.5)
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in PORTS]]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        conns = [Conn(p) for p in PORTS]
        for _ in range(400):
            if healthy(conns):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the cluster never became healthy")
        time.sleep(0.3 + rng.random())
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed = time.time()
        time.sleep(RESTART_AFTER_S - (time.time() - killed))
        conf = os.path.join(tmp, str(PORTS[0]), "redis.conf")
        restarted = time.time()
        procs.append(subprocess.Popen(["redis-server", conf]))
        time.sleep(2.5)
        logs = {p: log_lines(os.path.join(tmp, str(p), "log")) for p in PORTS}
        return {
            "kill_to_restart_ms": round((restarted - killed) * 1000.0, 1),
            "restarted_ready_ms": first_after(logs[PORTS[0]], restarted, "Ready to accept"),
            "restarted_state_ok_ms": first_after(logs[PORTS[0]], restarted, "state changed: ok"),
            "others_clear_fail_ms": {
                str(p): first_after(logs[p], restarted, "Clear FAIL state") for p in PORTS[1:]
            },
            "others_state_ok_ms": {
                str(p): first_after(logs[p], restarted, "state changed: ok") for p in PORTS[1:]
            },
        }
    finally:
        stop_servers(procs, tmp)


def main() -> None:
    rng = random.Random(7)
    runs = []
    for i in range(RUNS):
        run = one_run(rng)
        print(i, run, file=sys.stderr)
        runs.append(run)
    load = os.getloadavg()
    print(
        json.dumps(
            {
                "experiment": "a killed master without replicas restarted 9 s later "
                "(partition-behaviour.json part C), timed from the log lines",
                "redis_version": subprocess.run(
                    ["redis-server", "--version"], capture_output=True, text=True
                ).stdout.strip(),
                "node_timeout_ms": NODE_TIMEOUT,
                "load_average_at_end": [round(x, 2) for x in load],
                "times": "ms after the wall-clock moment just before the restarted process "
                "was spawned; log lines have 1 ms resolution",
                "runs": runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
