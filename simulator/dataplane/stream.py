"""The replication stream's size in bytes (RESP), for the offsets (§20.1)."""

from __future__ import annotations

from collections.abc import Iterable

from simulator.replication import ExpireOp, StreamOp


def _bulk(text: str) -> int:
    return 5 + len(str(len(text))) + len(text)


def resp_size(ops: Iterable[StreamOp]) -> int:
    """Bytes a batch of SET/DEL (and PEXPIREAT/PERSIST) commands takes in the
    replication stream (RESP)."""
    total = 0
    for op in ops:
        if isinstance(op, ExpireOp):
            if op.at_ms is None:
                total += 4 + 13 + _bulk(op.key)  # *2 $7 PERSIST
            else:
                total += 4 + 15 + _bulk(op.key) + _bulk(str(op.at_ms))  # *3 $9 PEXPIREAT
            continue
        key, value, _ = op
        if value is None:
            total += 4 + 9 + 5 + len(str(len(key))) + len(key)
        else:
            total += 4 + 9 + 2 * 5 + len(str(len(key))) + len(key) + len(str(len(value)))
            total += len(value)
    return total
