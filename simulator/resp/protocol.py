"""RESP, the Redis wire protocol: an incremental request parser and a reply encoder.

The parser follows src/networking.c (7.0) ``processInlineBuffer`` and
``processMultibulkBuffer``: the same two request forms (inline text or a multibulk
array of bulk strings), the same checks in the same order and the same error texts,
so a malformed request gets the reply a real node would give before it closes the
connection. Limits are the caller's (a real node's are ``proto-max-bulk-len`` and
``client-query-buffer-limit``); the defaults here are small because the simulator
models text values, not large blobs.

The encoder writes RESP2 or RESP3 (``HELLO 3``): typed reply values
(:class:`Simple`, :class:`Error`, :class:`Map`, :class:`SetReply`, :class:`Push`,
:class:`Verbatim`, ``int``, ``str``/``bytes`` bulk, ``None`` null, ``bool``, lists)
are encoded as ``addReply*`` would for the connection's protocol.

No sockets and no clock here: bytes in, commands and bytes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

PROTO_INLINE_MAX_SIZE = 64 * 1024
"""Longest inline request, or count line, Redis reads without a newline (server.h)."""

DEFAULT_MAX_BULK_LEN = 1024 * 1024
"""Largest bulk argument accepted (Redis's ``proto-max-bulk-len`` is 512 MB)."""

DEFAULT_MAX_ARGS = 100_000
"""Most arguments in one multibulk request (Redis allows up to INT_MAX)."""

DEFAULT_MAX_QUERY_BUFFER = 4 * 1024 * 1024
"""Unparsed input kept per connection (Redis's ``client-query-buffer-limit`` is 1 GB)."""

INT_MAX = 2**31 - 1
LLONG_MIN, LLONG_MAX = -(2**63), 2**63 - 1


class ProtocolError(ValueError):
    """A request a node rejects by replying with this text and closing the connection."""


def string2ll(text: bytes) -> int | None:
    """src/util.c ``string2ll``: a strict decimal (no ``+``, no spaces, no leading
    zeros, fits in a signed 64-bit integer), else None."""
    if not text or len(text) > 20:
        return None
    negative = text[:1] == b"-"
    digits = text[1:] if negative else text
    if not digits or not digits.isdigit() or not digits.isascii():
        return None
    if len(digits) > 1 and digits[:1] == b"0":
        return None
    if digits == b"0" and negative:
        return None
    value = -int(digits) if negative else int(digits)
    if not LLONG_MIN <= value <= LLONG_MAX:
        return None
    return value


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """src/sds.c ``sdssplitargs``: words separated by blanks, ``"..."`` with C escapes
    and ``\\xHH``, ``'...'`` with ``\\'``; a closing quote must be followed by a blank.
    None for unbalanced quotes."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f\0":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            c = line[i] if i < n else None
            if in_double:
                if c is None:
                    return None
                if (
                    c == ord("\\")
                    and i + 3 < n
                    and line[i + 1] == ord("x")
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == ord("\\") and i + 1 < n:
                    i += 1
                    current += _ESCAPES.get(line[i], bytes([line[i]]))
                elif c == ord('"'):
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\0":
                        return None
                    in_double = False
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_single:
                if c is None:
                    return None
                if c == ord("\\") and i + 1 < n and line[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f\0":
                        return None
                    in_single = False
                    i += 1
                    break
                else:
                    current.append(c)
            elif c is None or c in b" \n\r\t\0":
                break
            elif c == ord('"'):
                in_double = True
            elif c == ord("'"):
                in_single = True
            else:
                current.append(c)
            i += 1
        args.append(bytes(current))


@dataclass(slots=True)
class RequestParser:
    """Incremental request parser for one connection: :meth:`feed` bytes, then take
    commands with :meth:`next` until it returns None (needs more input).

    After a :class:`ProtocolError` the connection is to be closed: the parser's
    state is not meant to continue (Redis sets ``CLIENT_CLOSE_AFTER_REPLY``).
    """

    max_bulk_len: int = DEFAULT_MAX_BULK_LEN
    max_args: int = DEFAULT_MAX_ARGS
    max_query_buffer: int = DEFAULT_MAX_QUERY_BUFFER
    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0
    _multibulk: int = 0  # arguments still to read of the current multibulk request
    _bulk: int = -1  # length of the bulk being read, -1 before its $ line
    _args: list[bytes] = field(default_factory=list)
    _line_start: int = 0

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos > len(self._buf) // 2:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data
        if len(self._buf) - self._pos > self.max_query_buffer:
            raise ProtocolError("ERR Protocol error: query buffer limit reached")

    @property
    def buffered(self) -> int:
        """Bytes received and not yet parsed into a command."""
        return len(self._buf) - self._pos

    def next(self) -> list[bytes] | None:
        """The next complete command (a non-empty argument list), or None."""
        while self._pos < len(self._buf) or self._multibulk:
            if not self._multibulk and self._buf[self._pos] != ord("*"):
                args = self._inline()
            else:
                args = self._multibulk_request()
            if args is None:
                return None
            if args:
                return args
        return None

    def _inline(self) -> list[bytes] | None:
        buf, pos = self._buf, self._pos
        newline = buf.find(b"\n", pos)
        if newline == -1:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("ERR Protocol error: too big inline request")
            return None
        end = newline - 1 if newline > pos and buf[newline - 1] == ord("\r") else newline
        args = split_args(bytes(buf[pos:end]))
        if args is None:
            raise ProtocolError("ERR Protocol error: unbalanced quotes in request")
        self._pos = newline + 1
        return args

    def _line(self, too_big: str) -> bytes | None:
        """The text after the type byte up to ``\\r`` (consumed with its ``\\n``)."""
        buf, pos = self._buf, self._pos
        cr = buf.find(b"\r", pos)
        if cr == -1 or cr + 1 >= len(buf):
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError(f"ERR Protocol error: too big {too_big} count string")
            return None
        self._line_start = pos
        self._pos = cr + 2
        return bytes(buf[pos + 1 : cr])

    def _multibulk_request(self) -> list[bytes] | None:
        if not self._multibulk:
            text = self._line("mbulk")
            if text is None:
                return None
            count = string2ll(text)
            if count is None or count > INT_MAX or count > self.max_args:
                raise ProtocolError("ERR Protocol error: invalid multibulk length")
            if count <= 0:
                return []
            self._multibulk = count
            self._args = []
        while self._multibulk:
            if self._bulk == -1:
                text = self._line("bulk")
                if text is None:
                    return None
                if self._buf[self._line_start] != ord("$"):
                    got = chr(self._buf[self._line_start])
                    raise ProtocolError(f"ERR Protocol error: expected '$', got '{got}'")
                length = string2ll(text)
                if length is None or length < 0 or length > self.max_bulk_len:
                    raise ProtocolError("ERR Protocol error: invalid bulk length")
                self._bulk = length
            if len(self._buf) - self._pos < self._bulk + 2:
                return None
            self._args.append(bytes(self._buf[self._pos : self._pos + self._bulk]))
            self._pos += self._bulk + 2  # Redis skips the CRLF without checking it
            self._bulk = -1
            self._multibulk -= 1
        args, self._args = self._args, []
        return args


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class Simple:
    """A status reply (``+OK``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """An error reply; ``text`` starts with the error code (``ERR``, ``MOVED``...)."""

    text: str


@dataclass(frozen=True, slots=True)
class Map:
    """A RESP3 map (a flat array of key, value in RESP2)."""

    pairs: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True, slots=True)
class SetReply:
    """A RESP3 set (an array in RESP2)."""

    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Push:
    """An out-of-band message: RESP3 ``>`` push, RESP2 array (pub/sub messages)."""

    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Verbatim:
    """A RESP3 verbatim string (``=``; a bulk string in RESP2), e.g. INFO, CLIENT INFO."""

    text: str
    fmt: str = "txt"


OK = Simple("OK")


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _line_safe(text: str) -> bytes:
    """Status and error texts cannot hold newlines (``addReplyErrorLength`` replaces them)."""
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8", "replace")


def encode(value: Any, proto: int = 2) -> bytes:
    """``value`` as RESP``proto`` bytes."""
    out: list[bytes] = []
    _encode(value, proto, out)
    return b"".join(out)


def _encode(value: Any, proto: int, out: list[bytes]) -> None:
    if value is None:
        out.append(b"_\r\n" if proto >= 3 else b"$-1\r\n")
    elif isinstance(value, bool):
        if proto >= 3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif isinstance(value, int):
        out.append(b":%d\r\n" % value)
    elif isinstance(value, str):
        out.append(_bulk(value.encode("utf-8")))
    elif isinstance(value, bytes | bytearray):
        out.append(_bulk(bytes(value)))
    elif isinstance(value, Simple):
        out.append(b"+" + _line_safe(value.text) + b"\r\n")
    elif isinstance(value, Error):
        out.append(b"-" + _line_safe(value.text) + b"\r\n")
    elif isinstance(value, Verbatim):
        data = value.text.encode("utf-8")
        if proto >= 3:
            out.append(b"=%d\r\n%s:%s\r\n" % (len(data) + 4, value.fmt.encode(), data))
        else:
            out.append(_bulk(data))
    elif isinstance(value, Map):
        out.append(
            b"%%%d\r\n" % len(value.pairs) if proto >= 3 else b"*%d\r\n" % (2 * len(value.pairs))
        )
        for key, item in value.pairs:
            _encode(key, proto, out)
            _encode(item, proto, out)
    elif isinstance(value, SetReply | Push):
        items = value.items
        marker = b"~" if isinstance(value, SetReply) else b">"
        out.append((marker if proto >= 3 else b"*") + b"%d\r\n" % len(items))
        for item in items:
            _encode(item, proto, out)
    elif isinstance(value, Sequence):
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode(item, proto, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as RESP")
