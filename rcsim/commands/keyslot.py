"""``rcsim keyslot``: the hash slot of keys, as ``CLUSTER KEYSLOT`` answers (reference §3.1).

Text output, one line per key: ``KEY SLOT`` or ``KEY SLOT tag=TAG`` when a hash tag
decides the slot. A key (or tag) that is printable UTF-8 without spaces is shown as is;
any other is shown quoted the way redis-cli shows binary strings (``"a b"``,
``"\\xff\\x00"``, ``""``), so every line splits into fields unambiguously.
``--json`` gives exact values instead: a list of ``{"key", "slot", "tag"}`` objects, with
``key_hex`` (``tag_hex``) and a null ``key`` (``tag``) for keys that are not printable UTF-8.
"""

from __future__ import annotations

import argparse
import binascii
import json
import sys
from collections.abc import Iterable
from typing import Any

from rcsim.commands import CommandError
from simulator.slots import hashed_part, key_hash_slots

DESCRIPTION = """\
Print the hash slot of each key (CRC16-XMODEM of the key or of its {hash tag}, mod 16384),
one line per key: KEY SLOT [tag=TAG]. Keys that are not printable UTF-8 without spaces are
shown quoted like redis-cli shows them ("a b", "\\xff"). With --stdin, each input line is a
key (only the trailing newline is removed)."""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "keyslot",
        help="print the hash slot of keys (CRC16 with hash tags)",
        description=DESCRIPTION,
    )
    parser.add_argument("keys", nargs="*", metavar="KEY", help="keys to hash (raw bytes as given)")
    parser.add_argument(
        "--stdin", action="store_true", help="read one key per line from standard input"
    )
    parser.add_argument(
        "--hex", action="store_true", help="KEYs (or input lines) are hex-encoded bytes"
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list of {key, slot, tag} objects"
    )


def run(args: argparse.Namespace) -> int:
    if args.stdin and args.keys:
        raise CommandError("give KEY arguments or --stdin, not both")
    if args.stdin:
        raw = _stdin_lines()
        where = "stdin line"
    elif args.keys:
        # Non-UTF-8 argv bytes arrive as surrogate escapes; this gives the exact bytes back.
        raw = [key.encode("utf-8", "surrogateescape") for key in args.keys]
        where = "KEY argument"
    else:
        raise CommandError("no keys: give one or more KEY arguments, or --stdin")
    keys = _from_hex(raw, where) if args.hex else raw
    slots = key_hash_slots(keys)
    out = sys.stdout
    if args.json:
        json.dump([_record(k, s) for k, s in zip(keys, slots, strict=True)], out, indent=1)
        out.write("\n")
    else:
        out.writelines(_line(k, s) + "\n" for k, s in zip(keys, slots, strict=True))
    return 0


def _stdin_lines() -> list[bytes]:
    """Every line of standard input as bytes, without its trailing newline (``\\r`` is kept)."""
    data = sys.stdin.buffer.read()
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the newline that ends the last line does not start a new key
        lines.pop()
    return lines


def _from_hex(values: Iterable[bytes], where: str) -> list[bytes]:
    keys: list[bytes] = []
    for number, value in enumerate(values, start=1):
        try:
            keys.append(binascii.unhexlify(value.strip()))
        except (binascii.Error, ValueError):
            shown = value.decode("utf-8", "backslashreplace")
            raise CommandError(
                f"{where} {number} is not hex (--hex): {shown!r}"
                " (expected an even number of 0-9a-f digits)"
            ) from None
    return keys


def _text(value: bytes) -> str | None:
    """``value`` as text when it is printable UTF-8 (the rule of keyslot-vectors.json)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}
_ESCAPES |= {ord("\t"): "\\t", 7: "\\a", 8: "\\b"}


def show(value: bytes) -> str:
    """A key for the text output: as is, or quoted like redis-cli's ``sdscatrepr``."""
    text = _text(value)
    # isprintable() already rules out every whitespace character except the ASCII space.
    if text and " " not in text and not text.startswith('"'):
        return text
    if text is not None:  # printable UTF-8 that needs quoting: keep its characters readable
        return '"' + text.translate(_ESCAPES) + '"'
    parts = []
    for byte in value:
        if byte in _ESCAPES:
            parts.append(_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    return '"' + "".join(parts) + '"'


def _line(key: bytes, slot: int) -> str:
    if b"{" not in key:
        return f"{show(key)} {slot}"
    part, tagged = hashed_part(key)
    return f"{show(key)} {slot} tag={show(part)}" if tagged else f"{show(key)} {slot}"


def _record(key: bytes, slot: int) -> dict[str, Any]:
    text = _text(key)
    record: dict[str, Any] = {"key": text, "slot": slot, "tag": None}
    if text is None:
        record["key_hex"] = key.hex()
    part, tagged = hashed_part(key)
    if tagged:
        record["tag"] = _text(part)
        if record["tag"] is None:
            record["tag_hex"] = part.hex()
    return record


def demo() -> int:
    """A few keys with and without a hash tag (``rcsim start`` shows this until the TUI lands)."""
    keys = [b"foo", b"{user1000}.following", b"{user1000}.followers"]
    for key, slot in zip(keys, key_hash_slots(keys), strict=True):
        print(_line(key, slot))
    return 0
