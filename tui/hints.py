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


def hint(event: TraceEvent) -> str | None:
    """A sentence explaining ``event``'s failure, or None when it needs none."""
    if event["kind"] != "reshard_done" or not event.get("error"):
        return None
    found = _UNKNOWN_NODE.search(str(event["error"]))
    if found is None:
        return None
    asked, new = found.groups()
    return (
        f"why it failed: {asked} does not know {new} yet (gossip spreads a new node in a "
        f"few seconds, §7): wait, or press F (fix), then reshard again."
    )
