"""Real 7.0.15: a DEFAULT CLUSTER FAILOVER and its log lines, in ms after the command (§12.1).

Run: ``python3 tests/data/manual_failover_passes_probe.py`` with redis-server 7.0.15 on the
PATH. Starts 3 masters + 3 replicas on 127.0.0.1:7600-7605 (node-timeout 15000) in a fresh
temporary directory, creates the cluster, waits until healthy + 2 s, sends CLUSTER FAILOVER
to the replica of the slot-0 master, and prints the manual-failover and vote lines of every
node's log 1 s later (log times have 1 ms resolution); three times, a fresh cluster each;
stops its servers by PID. Output: ``manual-failover-passes-probe.txt``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time

PORTS = list(range(7600, 7606))
KEYS = ("Manual failover", "manual failover", "auth granted", "election", "Configuration change")
LOG_LINE = re.compile(r"\d+:\w \d+ \w+ \d+ (\d+):(\d+):(\d+\.\d+) [*#-] (.*)")


def cli(port: int, *args: str) -> str:
    command = ["redis-cli", "-p", str(port), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout


def start(directory: str) -> list[subprocess.Popen[bytes]]:
    procs = []
    for port in PORTS:
        conf = (
            f"port {port}\nbind 127.0.0.1\ncluster-enabled yes\n"
            f"cluster-config-file {directory}/nodes-{port}.conf\ncluster-node-timeout 15000\n"
            f'save ""\nappendonly no\nrepl-diskless-sync-delay 0\n'
            f"logfile {directory}/{port}.log\ndir {directory}\n"
        )
        with open(f"{directory}/{port}.conf", "w") as f:
            f.write(conf)
        procs.append(subprocess.Popen(["redis-server", f"{directory}/{port}.conf"]))
    return procs


def healthy() -> bool:
    if not all("cluster_state:ok" in cli(p, "cluster", "info") for p in PORTS):
        return False
    infos = [cli(p, "info", "replication") for p in PORTS]
    return all("master_link_status:up" in i for i in infos if "role:slave" in i)


def run(rep: int) -> None:
    directory = tempfile.mkdtemp(prefix="mfprobe")
    procs = start(directory)
    try:
        time.sleep(0.5)
        create = ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in PORTS]]
        subprocess.run(
            [*create, "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, timeout=60
        )
        for _ in range(300):
            if healthy():
                break
            time.sleep(0.1)
        time.sleep(2)
        lines = [line.split() for line in cli(7600, "cluster", "nodes").splitlines()]
        port = {fields[0]: int(fields[1].split("@")[0].split(":")[1]) for fields in lines}
        owner = next(f[0] for f in lines if any(re.match(r"0-\d+", s) for s in f[8:]))
        replica = next(port[f[0]] for f in lines if f[3] == owner)
        old = port[owner]
        sent = time.time()
        reply = cli(replica, "cluster", "failover").strip()
        print(f"rep {rep}: CLUSTER FAILOVER on {replica} (master {old}): {reply}")
        time.sleep(1.0)
        local = time.localtime(sent)
        base = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec + sent % 1
        for p in PORTS:
            with open(f"{directory}/{p}.log") as log:
                for line in log:
                    m = LOG_LINE.match(line)
                    if m is None or not any(k in m.group(4) for k in KEYS):
                        continue
                    t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
                    ms = (t - base) * 1000
                    role = " (old master)" if p == old else " (replica)" if p == replica else ""
                    if -5 <= ms <= 1000:
                        print(f"   {ms:7.1f} {p}{role} {m.group(4)[:80]}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    for rep in range(3):
        run(rep)
