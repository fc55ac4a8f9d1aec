"""The lost-writes view: which acknowledged writes are at risk or lost, and why (§20.2).

Two numbers a learner can follow: writes **at risk** (acknowledged and what a reader
sees now, but on no replica of the serving master yet: a failover now would lose them)
and writes **lost** (gone for good: kept from the moment they were lost, so a later
write of the same key does not hide the loss). Each lost write is a row: the key, its
value, the node that acknowledged it and when, when it was lost, who served the key
then, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LostWriteRow:
    """One acknowledged write that was lost (times in ms)."""

    key: str
    value: str | None
    client: str
    acked_by: str
    acked_at: int
    lost_at: int
    owner: str | None  # the node serving the key when the loss was found
    reason: str


@dataclass(frozen=True, slots=True)
class WriteRiskView:
    """The acknowledged writes at risk now and lost so far."""

    at_risk: int
    lost: int


def lost_row(row: dict[str, Any]) -> LostWriteRow:
    """A :class:`LostWriteRow` from the data plane's ``lost_writes()`` dict."""
    return LostWriteRow(
        str(row["key"]),
        None if row.get("value") is None else str(row["value"]),
        str(row.get("client", "")),
        str(row.get("node", "")),
        int(row.get("acked_at", 0)),
        int(row.get("lost_at", row.get("acked_at", 0))),
        None if row.get("owner") is None else str(row["owner"]),
        str(row.get("reason", "")),
    )


def row_dict(row: LostWriteRow) -> dict[str, Any]:
    """The JSON shape of a row (the headless report's ``metrics.lost_writes_detail``)."""
    return {
        "key": row.key,
        "value": row.value,
        "client": row.client,
        "acked_by": row.acked_by,
        "acked_at": row.acked_at,
        "lost_at": row.lost_at,
        "owner": row.owner,
        "reason": row.reason,
    }
