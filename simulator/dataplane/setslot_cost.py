"""What each command of a slot move costs redis-cli on loopback (§16.7).

redis-cli sends a slot move's commands one at a time and waits for every reply
(``clusterManagerMoveSlot`` → ``clusterManagerSetSlot`` and
``clusterManagerMigrateKeysInSlot``, all through the synchronous ``redisCommand``), so a
move lasts the sum of its commands' round trips. A ``CLUSTER SETSLOT`` is dearer than a
plain round trip: ``clusterCommand`` ("setslot") ends with
``clusterDoBeforeSleep(CLUSTER_TODO_SAVE_CONFIG|CLUSTER_TODO_UPDATE_STATE)``, and
``beforeSleep`` runs ``clusterBeforeSleep`` (which rewrites nodes.conf) before
``handleClientsWithPendingWrites`` writes the reply. ``SETSLOT NODE`` on the importing
node also bumps its configEpoch (``clusterBumpConfigEpochWithoutConsensus`` adds
``CLUSTER_TODO_FSYNC_CONFIG``: that save fsyncs) and broadcasts a PONG. A refused SETSLOT
replies before any of this: one plain round trip.

The costs below are **calibrations**: the pooled means (means, not medians: a rebalance
lasts the sum of thousands of them) of ``tests/data/setslot-cost-idle.json``, real Redis
7.0.15, 4 masters, 3 runs × 200 empty-slot moves timed command by command from a raw
RESP client on an idle 2-core host (load 0.4). The same probe on a loaded host
(``setslot-cost-loaded.json``, load 2.7–3.6) gave 1.0–2.9× these by kind, 1.6× for a
whole move: the spread a second host brings.

With them in place, the round trip of the other commands (``COMMAND_RTT_MS``, c) and
the per-key cost of a MIGRATE (``KEY_COST_MS``, k) are refitted on the two 100-slot
reshards of ``tests/data/resharding.json`` (3 masters, 300 keys per slot; 508 ms with
``--cluster-pipeline 10``, 2120 ms with 1). Per slot: the five SETSLOTs
(S = IMPORTING + MIGRATING + NODE on the target, the source and the third master =
0.4528 ms), ``B + 1`` GETKEYSINSLOTs at their measured g = 23.1 µs, and B MIGRATEs of two round trips each
(redis-cli to the source, the source to the target), plus the keys:

- pipeline 10 (B = 30): ``S + 31 g + 60 c + 300 k = 5.080 ms``
- pipeline 1 (B = 300): ``S + 301 g + 600 c + 300 k = 21.200 ms``

so ``c = 18.3 µs`` and ``k = 9.38 µs`` (before the SETSLOTs were charged: 19.9 and 10.6).
Checked elsewhere: c against the probe's own PING round trip on the idle host (18.4 µs,
the mean of its three runs); the whole model against the three rebalances of
``resharding.json`` and the idle host's own rebalance (``simulator/fidelity_rebalance.py``:
thousands of nearly empty slots, where the SETSLOTs are most of the time). Simplified:
one cost per kind whatever the cluster's size (nodes.conf grows with it), no contention
with other load on the same two cores; ``SETSLOT STABLE`` (fix only) and fix's
ADDSLOTS/DELSLOTS/BUMPEPOCH were not measured and cost one round trip c.
"""

from __future__ import annotations

CALIBRATION_SETSLOT_IMPORTING_MS = 0.0766
"""``CLUSTER SETSLOT s IMPORTING source`` on the target (setslot-cost-idle.json,
``pooled.importing.mean``)."""

CALIBRATION_SETSLOT_MIGRATING_MS = 0.0675
"""``CLUSTER SETSLOT s MIGRATING target`` on the source (``pooled.migrating.mean``)."""

CALIBRATION_SETSLOT_NODE_IMPORTING_MS = 0.1055
"""``CLUSTER SETSLOT s NODE target`` on the target that was importing s: the configEpoch
bump, a fsynced save and a PONG broadcast (``pooled.node_on_importing.mean``)."""

CALIBRATION_SETSLOT_NODE_SOURCE_MS = 0.1108
"""``SETSLOT s NODE target`` on the node that owned s (``pooled.node_on_source.mean``)."""

CALIBRATION_SETSLOT_NODE_OTHER_MS = 0.0924
"""``SETSLOT s NODE target`` on any other master (``pooled.node_on_third_master.mean``)."""

CALIBRATION_GETKEYSINSLOT_MS = 0.0231
"""``CLUSTER GETKEYSINSLOT s count`` (``pooled.getkeysinslot_empty.mean``, measured on an
empty slot; what returning key names adds is part of ``KEY_COST_MS``)."""

COMMAND_RTT_MS = 0.0183
"""One other command round trip on loopback (MIGRATE's, redis-cli to the source and the
source to the target): calibration, the fit above."""

KEY_COST_MS = 0.00938
"""What one key adds to a MIGRATE (dump, RESTORE-ASKING on the target, delete):
calibration, the fit above."""

SETSLOT_COSTS_MS: dict[str, float] = {
    "importing": CALIBRATION_SETSLOT_IMPORTING_MS,
    "migrating": CALIBRATION_SETSLOT_MIGRATING_MS,
    "node_on_importing": CALIBRATION_SETSLOT_NODE_IMPORTING_MS,
    "node_on_source": CALIBRATION_SETSLOT_NODE_SOURCE_MS,
    "node_on_third_master": CALIBRATION_SETSLOT_NODE_OTHER_MS,
}
"""The SETSLOT kinds by the probe's names (the keys of its ``pooled`` summary)."""


def setslot_kind(arg: str, on: str, importing: bool) -> str | None:
    """Which measured kind a successful ``CLUSTER SETSLOT s <arg>`` is. ``on`` is the
    node's part in the move, as the probe names them: ``"target"`` (NODE names the node
    itself), ``"source"`` (the slot moves from it) or ``"other"``; ``importing``: s was
    importing on it. By part, not by the node's slot table: the target's PONG may reach
    the source before redis-cli's SETSLOT NODE does. ``None`` for STABLE (not measured)."""
    sub = arg.upper()
    if sub == "IMPORTING":
        return "importing"
    if sub == "MIGRATING":
        return "migrating"
    if sub != "NODE":
        return None
    if on == "target" and importing:  # clusterBumpConfigEpochWithoutConsensus: fsynced save
        return "node_on_importing"
    return "node_on_source" if on == "source" else "node_on_third_master"


def setslot_cost_ms(kind: str | None, ok: bool, round_trip_ms: float) -> float:
    """What the SETSLOT costs redis-cli: its kind's measured cost when it succeeded
    (the save before the reply), one plain round trip when it was refused or unmeasured."""
    if not ok or kind is None:
        return round_trip_ms
    return SETSLOT_COSTS_MS[kind]
