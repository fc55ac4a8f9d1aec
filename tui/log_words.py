"""A big cluster's waves of verdicts in the event log, in words (no Textual import).

Above ``GROUP_ABOVE`` nodes the log shows each wave of identical verdicts (every node's
``pfail``/``fail`` about a dead node, its ``fail_cleared`` when it is back, every master's
vote for the winner, every node's ``cluster_state``; grouped by
:class:`simulator.views.log_groups.VerdictFold`) as one line that grows in place:
``FAIL about n12 reached 997 nodes by 3.240s (994 told by a FAIL message); first:
n7 marks n12 FAIL (251 of 251 masters agree)``, under the first one's time. A wave of
one reads as the event itself. ``enter`` in the focused log lists who said it,
millisecond by millisecond.
"""

from __future__ import annotations

from simulator.views.log_groups import VerdictGroup
from tui.words import describe, seconds

GROUP_ABOVE = 40  # nodes: as the topology's COLLAPSE_ABOVE; a lesson's 6-12 log every event


def _headline(group: VerdictGroup) -> str:
    kind, target, value = group.subject
    count = group.count
    if kind == "pfail":
        return f"PFAIL about {target} reached {count} nodes"
    if kind == "fail":
        return f"FAIL about {target} reached {count} nodes"
    if kind == "pfail_cleared":
        return f"{count} nodes hear from {target} again (PFAIL cleared)"
    if kind == "fail_cleared":
        return f"{count} nodes clear FAIL on {target}"
    if kind == "vote":
        return f"{target} got {count} votes for epoch {value}"
    return f"{count} nodes say cluster_state:{value}"


def group_line(group: VerdictGroup) -> str:
    """The wave as one log line (the first event's own sentence while it is alone)."""
    if group.count == 1:
        return describe(group.first)
    told = f" ({group.told} told by a FAIL message)" if group.told else ""
    return f"{_headline(group)} by {seconds(group.last)}{told}; first: {describe(group.first)}"


def group_members(group: VerdictGroup) -> str:
    """Who said it, in order, by millisecond: ``3.102s n7 · 3.105s n9 n11 n12``."""
    parts: list[str] = []
    current: int | None = None
    for node, t in group.members():
        if t != current:
            parts.append(f"{seconds(t)} {node}" if current is None else f"· {seconds(t)} {node}")
            current = t
        else:
            parts.append(node)
    return " ".join(parts)
