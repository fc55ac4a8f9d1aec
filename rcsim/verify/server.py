"""One real ``redis-server`` (or compatible) process: its config, start, signals, restart.

Every node gets its own loopback address, so iptables can cut links between nodes:
``bind``, ``cluster-announce-ip`` and ``bind-source-addr`` are that address (as in
partition-heal.json). The rest is the common set-up of the real-redis measurements
(``save ""``, ``appendonly no``), then the scenario's directives, which win. Not their
``repl-diskless-sync-delay 0``: rcsim runs a scenario with Redis's default (5 s), and a
full sync (a restarted master, persistence-trap) must wait as long on both sides.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rcsim.verify.cleanup import Cleanup
from rcsim.verify.resp import Connection, RespError, call_once

FIRST_HOST = 20
"""Nodes use 127.0.0.20 and up (lower addresses are left to other experiments)."""

FIRST_PORT = 7100
BUS_PORT_INCR = 10000  # CLUSTER_PORT_INCR


@dataclass(frozen=True, slots=True)
class ServerBinary:
    """The server executable and what it says it is (for the report)."""

    path: str
    product: str  # "Redis" or "Valkey"
    version: str

    @property
    def label(self) -> str:
        return f"{self.product} {self.version} ({self.path})"


def identify(path: str) -> ServerBinary:
    """``redis-server --version``: ``Redis server v=7.0.15 ...`` / ``Valkey server v=9.1.2``."""
    result = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    match = re.search(r"^(\w+) server v=(\S+)", result.stdout)
    if result.returncode != 0 or match is None:
        raise ValueError(
            f"{path} --version did not name a server version: {result.stdout.strip()!r}"
        )
    return ServerBinary(path, match.group(1), match.group(2))


def directive_value(value: Any) -> str:
    """A scenario value as redis.conf / CONFIG SET writes it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return '""'
    return str(value)


BASE_CONFIG: dict[str, str] = {
    "cluster-enabled": "yes",
    "cluster-config-file": "nodes.conf",
    "save": '""',
    "appendonly": "no",
    "protected-mode": "no",
    "daemonize": "no",
    "loglevel": "notice",
}


FIRST_UID = 64200
"""With partitions (as root) node k runs as uid FIRST_UID + k (no account needed), so
iptables can tell its packets by process (rcsim.verify.firewall's OUTPUT chain)."""


def node_address(index: int) -> tuple[str, int]:
    """The address and port of the node created ``index``-th (0-based)."""
    return f"127.0.0.{FIRST_HOST + index}", FIRST_PORT + index


def config_text(host: str, port: int, directory: Path, settings: Mapping[str, Any]) -> str:
    """The node's redis.conf."""
    lines = {
        "port": str(port),
        "bind": host,
        "cluster-announce-ip": host,
        "bind-source-addr": host,
        "dir": str(directory),
        "logfile": str(directory / "server.log"),
        **BASE_CONFIG,
    }
    for key, value in settings.items():
        lines[key] = directive_value(value)
    return "".join(f"{key} {value}\n" for key, value in lines.items())


class NodeProcess:
    """One node's process. ``status``: running, paused, dead (killed or shut down)."""

    def __init__(
        self,
        name: str,
        index: int,
        binary: ServerBinary,
        workdir: Path,
        settings: Mapping[str, Any],
        cleanup: Cleanup,
        uid: int | None = None,
    ) -> None:
        self.name = name
        self.host, self.port = node_address(index)
        self.binary = binary
        self.directory = workdir / name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.uid = uid
        if uid is not None:  # its own uid: it must reach and write its directory
            workdir.chmod(0o711)
            os.chown(self.directory, uid, uid)
        self.clustered = directive_value(settings.get("cluster-enabled", "yes")) != "no"
        self.config_path = self.directory / "redis.conf"
        self.config_path.write_text(config_text(self.host, self.port, self.directory, settings))
        self.cleanup = cleanup
        self.process: subprocess.Popen[bytes] | None = None
        self.status = "dead"
        self.node_id = ""

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start (or restart with the same config and nodes.conf) and wait for PING."""
        self.process = self.cleanup.spawn(
            [self.binary.path, str(self.config_path)],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **(
                {}
                if self.uid is None
                else {"user": self.uid, "group": self.uid, "extra_groups": []}
            ),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name}: {self.binary.path} exited at start; see {self.directory / 'server.log'}"
                )
            try:
                if call_once(self.host, self.port, "PING", timeout=0.5) == "PONG":
                    break
            except (OSError, ConnectionError):
                pass
            except RespError as error:  # LOADING: it is reading its RDB/AOF
                if not str(error).startswith("LOADING"):
                    raise
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no PING reply within {timeout:g}s")
            time.sleep(0.02)
        self.status = "running"
        if not self.clustered:  # cluster-enabled no (rcsim.verify.standalone): no CLUSTER MYID
            self.node_id = self.name
            return
        while True:  # LOADING while the RDB/AOF loads (to PING too, or only to this)
            try:
                self.node_id = str(self.call("CLUSTER", "MYID"))
                break
            except RespError as error:
                if not str(error).startswith("LOADING") or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def call(self, *args: str | int, timeout: float = 5.0) -> Any:
        return call_once(self.host, self.port, *args, timeout=timeout)

    def connect(self, timeout: float = 1.0) -> Connection:
        return Connection(self.host, self.port, timeout)

    def signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: a crash; the kernel resets the node's connections at once."""
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)
        self.status = "dead"

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)
        self.status = "paused"

    def resume(self) -> None:
        self.signal(signal.SIGCONT)
        self.status = "running"

    def shutdown(self) -> None:
        """A clean SHUTDOWN (the connection closes without a reply)."""
        with contextlib.suppress(OSError, ConnectionError):
            self.call("SHUTDOWN")
        assert self.process is not None
        self.process.wait(timeout=30)
        self.status = "dead"

    def restart(self) -> None:
        """Start again from the same config and nodes.conf (a paused node is killed first)."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self.start()
