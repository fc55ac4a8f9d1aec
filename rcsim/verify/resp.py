"""A small RESP client: enough to poll and drive a real node, with error replies kept
as the server sent them (``MOVED 42 127.0.0.21:7101``), which redis-py would reword.

RESP2 by default; after ``HELLO 3`` the server speaks RESP3 (client-side caching,
:mod:`rcsim.verify.tracking`): its push frames (``>``: an ``invalidate`` message) are
read as :class:`Push`, maps (``%``) as dicts, and its null, boolean, double, big
number, verbatim, set, attribute and blob-error types as Python values."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

CLIENT_SOURCE = "127.0.0.1"
"""Pollers and drivers connect from 127.0.0.1, an address no partition rule matches."""


class RespError(Exception):
    """An error reply (``-ERR ...``); ``str()`` is the reply text without the dash."""


class Push(list[Any]):
    """A RESP3 push frame (``>``): out-of-band data such as ``["invalidate", [keys]]``,
    not the reply to a command."""


class Connection:
    """One blocking connection; ``timeout`` bounds connect and every read (seconds)."""

    def __init__(
        self, host: str, port: int, timeout: float = 1.0, source: str = CLIENT_SOURCE
    ) -> None:
        self.host = host
        self.port = port
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0)
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def call(self, *args: str | int | bytes) -> Any:
        """Send one command; an error reply raises :class:`RespError`."""
        reply = self.pipeline([args])[0]
        if isinstance(reply, RespError):
            raise reply
        return reply

    def pipeline(self, commands: list[tuple[str | int | bytes, ...]]) -> list[Any]:
        """Send all commands at once, then read one reply each (errors returned, not raised)."""
        self.sock.sendall(b"".join(encode(command) for command in commands))
        return [self._read() for _ in commands]

    def read_reply(self) -> Any:
        """The next reply or push (a subscribed connection's messages)."""
        return self._read()

    # ------------------------------------------------------------------ reading

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"{self.host}:{self.port} closed the connection")
        self._buffer += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._fill()
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def _exact(self, size: int) -> bytes:
        while len(self._buffer) < size + 2:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size + 2 :]
        return data

    def _read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exact(size).decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        return self._read_resp3(kind, rest, line)

    def _read_resp3(self, kind: bytes, rest: bytes, line: bytes) -> Any:
        """The types only a RESP3 connection (after ``HELLO 3``) receives."""
        if kind == b">":
            return Push(self._read() for _ in range(int(rest)))
        if kind == b"%":
            pairs = [(self._read(), self._read()) for _ in range(int(rest))]
            return {str(k): v for k, v in pairs}
        if kind == b"~":
            return [self._read() for _ in range(int(rest))]
        if kind == b"|":  # an attribute: metadata before the reply it describes
            for _ in range(2 * int(rest)):
                self._read()
            return self._read()
        if kind == b"_":
            return None
        if kind == b"#":
            return rest == b"t"
        if kind == b",":
            return float(rest)
        if kind == b"(":
            return int(rest)
        if kind == b"=":  # verbatim string: "txt:" then the text
            return self._exact(int(rest)).decode(errors="replace")[4:]
        if kind == b"!":
            return RespError(self._exact(int(rest)).decode(errors="replace"))
        raise ConnectionError(f"unexpected reply from {self.host}:{self.port}: {line!r}")


def encode(args: tuple[str | int | bytes, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def call_once(host: str, port: int, *args: str | int, timeout: float = 2.0) -> Any:
    """Connect, send one command, close."""
    connection = Connection(host, port, timeout)
    try:
        return connection.call(*args)
    finally:
        connection.close()
