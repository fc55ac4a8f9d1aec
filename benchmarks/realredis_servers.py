"""Real redis-server processes for the measuring scripts (``realredis_*``): on loopback
only, with the real-redis harness's settings, started and stopped here by their PIDs in
a scratch directory that goes with them. Not part of the test suite."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
"""redis-cli colours its log lines; the probes keep them without."""


class Conn:
    """A raw RESP2 connection (no client library between the socket and the timing)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.replies = self.sock.makefile("rb")

    def cmd(self, *args: bytes) -> bytes | None:
        """Send one command; its reply (a bulk string's bytes, a status line, or None)."""
        self.send(*args)
        return self.reply()

    def send(self, *args: bytes) -> None:
        """Send one command without reading its reply (for a command that blocks)."""
        parts = b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args)
        self.sock.sendall(b"*%d\r\n" % len(args) + parts)

    def reply(self) -> bytes | None:
        """The next reply on the connection, as :meth:`cmd` returns it."""
        line = self.replies.readline()
        if line[:1] != b"$":
            return line.strip()
        length = int(line[1:])
        return None if length < 0 else self.replies.read(length + 2)[:-2]


class Servers:
    """The processes of one measurement and their directory."""

    def __init__(self, prefix: str) -> None:
        self.directory = tempfile.mkdtemp(prefix=prefix)
        self.processes: list[subprocess.Popen[bytes]] = []

    def log(self, port: int) -> str:
        return os.path.join(self.directory, f"{port}.log")

    def start(self, port: int, *extra: str) -> subprocess.Popen[bytes]:
        """A redis-server on 127.0.0.1:``port`` (``save ""``, ``appendonly no``, its log
        in the directory, then ``extra``), once it accepts connections."""
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
             "--dir", self.directory, "--logfile", self.log(port),
             "--save", "", "--appendonly", "no", *extra]
        )  # fmt: skip
        self.processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return process
            time.sleep(0.02)
        raise SystemExit(f"redis-server on port {port} did not start")

    def master_and_replica(self, port: int) -> tuple[Conn, Conn]:
        """A master on ``port`` and its replica on ``port + 1``, connected to both once
        the replica's link is up."""
        self.start(port)
        self.start(port + 1, "--replicaof", "127.0.0.1", str(port))
        replica = Conn(port + 1)
        while b"master_link_status:up" not in (replica.cmd(b"INFO", b"replication") or b""):
            time.sleep(0.05)
        return Conn(port), replica


def redis_version() -> str:
    """``redis-server --version``, for the result files."""
    done = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def result_header(what: str, command: str) -> dict[str, object]:
    """The fields every result file starts with: what it measured, the server's
    version, the day, and the command that wrote it."""
    return {
        "what": what,
        "redis": redis_version(),
        "date": datetime.date.today().isoformat(),
        "command": command,
    }


def load_average() -> str:
    """The host's 1, 5 and 15 minute load averages, for a result file."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def emit(result: dict[str, object], out: str, indent: int = 2) -> str:
    """The result as JSON, written to ``out`` when one is given; returns the text."""
    text = json.dumps(result, indent=indent) + "\n"
    if out:
        with open(out, "w") as handle:
            handle.write(text)
    return text


@contextmanager
def servers(prefix: str) -> Iterator[Servers]:
    """Every process started in the block is terminated by PID and waited for, and the
    directory removed, however the block ends."""
    started = Servers(prefix)
    try:
        yield started
    finally:
        for process in started.processes:
            process.terminate()
        for process in started.processes:
            process.wait(timeout=30)
        shutil.rmtree(started.directory, ignore_errors=True)
