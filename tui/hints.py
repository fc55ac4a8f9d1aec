"""Why an operator command failed, in the words an operator would use (for the log).

A trace event says *what* happened (``reshard_done`` with redis-cli's error); a few
failures have one common cause a learner cannot guess from Redis's reply alone. Each
hint names the cause and the way out, and appears in the log right after the event.
"""

from __future__ import annotations

import re

from simulator.trace import TraceEvent

# CLUSTER SETSLOT's replies for a node the receiver has no entry for (§16.1; cluster.c
# clusterCommandSetSlot: "I don't know about node", "Unknown node").
_UNKNOWN_NODE = re.compile(
    r"Calling CLUSTER SETSLOT on (\S+): ERR (?:Unknown node|I don't know about node) (\S+)"
)


# redis-cli --cluster fix's refusal (§16.6; redis-cli.c clusterManagerFixOpenSlot and
# clusterManagerFixSlotsCoverage).
_DISAGREE = "Nodes don't agree about configuration"  # clusterManagerCheckCluster
_UNREACHABLE = re.compile(r"Fixing (open slots|slots coverage) with (\d+) unreachable masters")


def hint(event: TraceEvent) -> str | None:
    """A sentence explaining ``event``'s failure, or None when it needs none."""
    if event["kind"] != "reshard_done" or not event.get("error"):
        return None
    refused = _UNREACHABLE.search(str(event["error"]))
    if refused is not None:
        return (
            f"why it failed: redis-cli cannot reach {refused.group(2)} master(s) (dead, or "
            "flagged fail) and will not risk their slots (§16.6). If a replica took them "
            "over, press F and choose 'unreachable masters too'."
        )
    if _DISAGREE in str(event["error"]):
        return (
            "why it failed: the nodes do not agree on every slot's owner yet. fix does not "
            "change a node's map; gossip does within seconds (§10.2): wait, then try again."
        )
    found = _UNKNOWN_NODE.search(str(event["error"]))
    if found is None:
        return None
    asked, new = found.groups()
    return (
        f"why it failed: {asked} does not know {new} yet (gossip spreads a new node in a "
        f"few seconds, §7): wait, then reshard again."
    )
