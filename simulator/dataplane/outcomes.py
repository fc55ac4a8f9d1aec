"""The request outcomes: how one attempt of a client's command ended, defined once.

A ``request`` trace event's ``outcome`` is one of these; the data plane counts them
(``ClusterData.outcomes``), the headless report lists them (zero without a data plane)
and the TUI's requests pane shows them, all in this order. ``tests/test_outcomes.py``
compares every consumer with it.
"""

from __future__ import annotations

OUTCOME_DOCS: dict[str, str] = {
    "ok": "the command was served",
    "moved": "-MOVED: the slot is served by another node (§15)",
    "ask": "-ASK: the key is being migrated; ask the importing node (§15)",
    "tryagain": "-TRYAGAIN: a multi-key command's keys are split by a migration (§15)",
    "crossslot": "-CROSSSLOT: a multi-key command's keys hash to different slots (§15)",
    "clusterdown": "-CLUSTERDOWN: the node's cluster_state is fail, or the slot is unbound (§14)",
    "timeout": "no reply within the client's timeout",
    "error": "any other error reply",
}

REQUEST_OUTCOMES: tuple[str, ...] = tuple(OUTCOME_DOCS)
"""The outcome names, in the order every consumer lists them."""
