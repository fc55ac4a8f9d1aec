"""``rcsim keyslot KEY...``: the hash slot of each key, as ``CLUSTER KEYSLOT`` answers."""

from __future__ import annotations

import argparse
from typing import Any

from simulator.slots import hashed_part, key_hash_slot


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("keyslot", help="print the hash slot of keys (CRC16 with hash tags)")
    parser.add_argument("keys", nargs="*", metavar="KEY")


def run(args: argparse.Namespace) -> int:
    for key in args.keys:
        print(_line(key.encode("utf-8", "surrogateescape")))
    return 0


def _line(key: bytes) -> str:
    part, tagged = hashed_part(key)
    text = key.decode("utf-8", "backslashreplace")
    tag = f" tag={part.decode('utf-8', 'backslashreplace')}" if tagged else ""
    return f"{text} {key_hash_slot(key)}{tag}"


def demo() -> int:
    for key in ("foo", "{user1000}.following", "{user1000}.followers"):
        print(_line(key.encode()))
    return 0
