"""The RESP parser and encoder (simulator/resp/protocol.py), including a fuzz of the parser."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.resp.protocol import (
    Error,
    Map,
    ProtocolError,
    Push,
    RequestParser,
    SetReply,
    Simple,
    Verbatim,
    encode,
    split_args,
    string2ll,
)


def multibulk(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def parse_all(data: bytes, parser: RequestParser | None = None) -> list[list[bytes]]:
    parser = parser or RequestParser()
    parser.feed(data)
    out = []
    while (cmd := parser.next()) is not None:
        out.append(cmd)
    return out


def test_multibulk_and_inline_requests() -> None:
    data = multibulk(b"SET", b"k", b"v\r\nwith crlf") + b"PING\r\n" + b"ECHO \"a b\" 'c'\n"
    assert parse_all(data) == [
        [b"SET", b"k", b"v\r\nwith crlf"],
        [b"PING"],
        [b"ECHO", b"a b", b"c"],
    ]


def test_incremental_byte_by_byte_matches_whole() -> None:
    data = multibulk(b"MSET", b"a", b"1", b"b", b"22") + b"GET a\r\n" + multibulk(b"DEL", b"")
    parser = RequestParser()
    got = []
    for i in range(len(data)):
        got += parse_all(data[i : i + 1], parser)
    assert got == parse_all(data)


def test_empty_lines_and_zero_count_are_skipped() -> None:
    assert parse_all(b"\r\n*0\r\n*-1\r\nPING\r\n") == [[b"PING"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$-2\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$01\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n+x\r\n", "ERR Protocol error: expected '$', got '+'"),
        (b'GET "abc\r\n', "ERR Protocol error: unbalanced quotes in request"),
        (b"SET 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"),
        (b"x" * (64 * 1024 + 1), "ERR Protocol error: too big inline request"),
        (b"*" + b"1" * (64 * 1024 + 1), "ERR Protocol error: too big mbulk count string"),
        (b"*1\r\n$" + b"1" * (64 * 1024 + 1), "ERR Protocol error: too big bulk count string"),
    ],
)
def test_malformed_requests_get_redis_errors(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_all(data)


def test_limits() -> None:
    small = RequestParser(max_bulk_len=4, max_args=2, max_query_buffer=64)
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parse_all(b"*1\r\n$5\r\n", small)
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parse_all(b"*3\r\n", RequestParser(max_args=2))
    with pytest.raises(ProtocolError, match="query buffer limit"):
        RequestParser(max_query_buffer=64).feed(b"*1\r\n$60\r\n" + b"x" * 60)


def test_string2ll_is_strict() -> None:
    assert string2ll(b"-12") == -12
    assert string2ll(b"0") == 0
    for bad in (b"", b"+1", b"01", b"-0", b" 1", b"1 ", b"9223372036854775808", b"\xd9\xa1"):
        assert string2ll(bad) is None


def test_split_args_escapes() -> None:
    assert split_args(b"set \"a\\x41\\n\" 'it\\'s'") == [b"set", b"aA\n", b"it's"]
    assert split_args(b'"unclosed') is None


def test_encode_resp2_and_resp3() -> None:
    value = [Simple("OK"), Error("ERR x"), 1, "é", None, True, Map((("a", 1),)), SetReply(("b",))]
    assert encode(value, 2) == (
        b"*8\r\n+OK\r\n-ERR x\r\n:1\r\n$2\r\n\xc3\xa9\r\n$-1\r\n:1\r\n*2\r\n$1\r\na\r\n:1\r\n"
        b"*1\r\n$1\r\nb\r\n"
    )
    assert encode(value, 3) == (
        b"*8\r\n+OK\r\n-ERR x\r\n:1\r\n$2\r\n\xc3\xa9\r\n_\r\n#t\r\n%1\r\n$1\r\na\r\n:1\r\n"
        b"~1\r\n$1\r\nb\r\n"
    )
    assert encode(Push(("message", "c", "m")), 3).startswith(b">3\r\n")
    assert encode(Push(("message", "c", "m")), 2).startswith(b"*3\r\n")
    assert encode(Verbatim("hi"), 3) == b"=6\r\ntxt:hi\r\n"
    assert encode(Verbatim("hi"), 2) == b"$2\r\nhi\r\n"
    assert encode(Error("ERR a\r\nb"), 2) == b"-ERR a  b\r\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=20), st.data())
def test_fuzz_parser_never_crashes_or_hangs(chunks: list[bytes], data: st.DataObject) -> None:
    """Any bytes, in any split: commands or a ProtocolError, never another exception."""
    parser = RequestParser(max_bulk_len=64, max_args=16, max_query_buffer=4096)
    try:
        for chunk in chunks:
            parser.feed(chunk)
            for _ in range(len(chunk) + 2):  # each command consumes at least one byte
                cmd = parser.next()
                if cmd is None:
                    break
                assert cmd and all(isinstance(a, bytes) for a in cmd)
    except ProtocolError as error:
        assert str(error).startswith("ERR Protocol error: ")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.binary(max_size=30), min_size=1, max_size=6), min_size=1, max_size=6),
    st.lists(st.integers(min_value=1, max_value=50), max_size=20),
)
def test_fuzz_roundtrip_in_any_split(commands: list[list[bytes]], cuts: list[int]) -> None:
    """Well-formed multibulk requests come back whole however the bytes are split."""
    data = b"".join(multibulk(*cmd) for cmd in commands)
    parser = RequestParser()
    got: list[list[bytes]] = []
    position = 0
    for cut in [*cuts, len(data)]:
        got += parse_all(data[position : position + cut], parser)
        position += cut
    got += parse_all(data[position:], parser)
    assert got == commands
