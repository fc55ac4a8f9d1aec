"""redis-cli's cluster-management planners (src/redis-cli.c 7.0.15), as pure functions.

The state is a list of :class:`Master` in **node-table order**: the order redis-cli
loaded the nodes (the entry node first, then the entry node's ``CLUSTER NODES`` order).
That order decides ties, so it is an input, not something this module invents.

Planners return plans (slot lists, moves, :class:`Step` records); they never talk to
nodes. The simulator executes the steps one by one (behaviour reference §16). ``fix``
is in :mod:`simulator.dataplane.redis_cli_fix`, which builds on this module.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from simulator.slots import CLUSTER_SLOTS, format_slot_ranges, parse_slot_ranges

MIGRATE_PIPELINE = 10
"""Keys per GETKEYSINSLOT/MIGRATE batch (``CLUSTER_MANAGER_MIGRATE_PIPELINE``, §1.1)."""

MIGRATE_TIMEOUT_MS = 60000
"""MIGRATE timeout redis-cli passes (``CLUSTER_MANAGER_MIGRATE_TIMEOUT``, §1.1)."""

REBALANCE_THRESHOLD = 2.0
"""Default ``--cluster-threshold`` in percent (``CLUSTER_MANAGER_REBALANCE_THRESHOLD``)."""

SETSLOT_REPLICA_ERROR = "ERR Please use SETSLOT only with masters."
"""The error a source that already became a replica answers; tolerated (§16.3 step 5)."""


class PlanError(ValueError):
    """Input redis-cli would refuse; the message is redis-cli's own where it has one."""


def _f32(value: float) -> float:
    """Round to IEEE-754 single precision, as C ``float`` arithmetic does."""
    if math.isinf(value) or math.isnan(value):
        return value
    return float(struct.unpack("f", struct.pack("f", value))[0])


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class Master:
    """One master as redis-cli sees it: its own slots, keys per slot, open slots.

    ``keys`` maps slot -> number of keys (only needed by :func:`fix_plan`);
    ``migrating``/``importing`` map slot -> peer name (the node's own view, §16.1).
    """

    name: str
    slots: tuple[int, ...] = ()
    keys: Mapping[int, int] = field(default_factory=dict)
    migrating: Mapping[int, str] = field(default_factory=dict)
    importing: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(set(self.slots)))
        if ordered and not (ordered[0] >= 0 and ordered[-1] < CLUSTER_SLOTS):
            raise PlanError(f"master {self.name}: slot out of range 0-16383")
        object.__setattr__(self, "slots", ordered)

    @classmethod
    def of(
        cls,
        name: str,
        slots: str | Iterable[int] = (),
        keys: Mapping[int, int] | None = None,
        migrating: Mapping[int, str] | None = None,
        importing: Mapping[int, str] | None = None,
    ) -> Master:
        """Build from Redis's range notation (``"0-5460 5462"``) or a slot iterable."""
        parsed = parse_slot_ranges(slots) if isinstance(slots, str) else list(slots)
        return cls(name, tuple(parsed), keys or {}, migrating or {}, importing or {})

    def key_count(self, slot: int) -> int:
        return int(self.keys.get(slot, 0))

    def __str__(self) -> str:
        return f"{self.name}[{format_slot_ranges(self.slots)}]"


def masters_by_name(masters: Sequence[Master]) -> dict[str, Master]:
    """The masters by name; a name listed twice is a :class:`PlanError`."""
    table: dict[str, Master] = {}
    for m in masters:
        if m.name in table:
            raise PlanError(f"master {m.name} is listed twice")
        table[m.name] = m
    return table


DISAGREE = "[ERR] Nodes don't agree about configuration!"
"""``clusterManagerCheckCluster``'s error when loaded nodes map slots to owners differently."""


def check_cluster(masters: Sequence[Master], consistent: bool = True) -> list[str]:
    """The errors ``clusterManagerCheckCluster`` reports that block reshard/rebalance
    (§16.4: "Refuses if the cluster check reports errors"): loaded nodes that disagree on
    slot owners (``consistent`` false, from what redis-cli loaded), open slots, missing
    coverage."""
    errors: list[str] = [] if consistent else [DISAGREE]
    for m in masters:
        if m.migrating:
            listed = ",".join(str(s) for s in m.migrating)
            errors.append(f"[WARNING] Node {m.name} has slots in migrating state {listed}.")
        if m.importing:
            listed = ",".join(str(s) for s in m.importing)
            errors.append(f"[WARNING] Node {m.name} has slots in importing state {listed}.")
    covered: set[int] = set()
    for m in masters:
        covered.update(m.slots)
    if len(covered) != CLUSTER_SLOTS:
        errors.append(f"[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.")
    return errors


# --------------------------------------------------------------------------- reshard


@dataclass(frozen=True, slots=True)
class ReshardItem:
    """One entry of the reshard table: move ``slot`` from ``source``."""

    slot: int
    source: str


def reshard_plan(sources: Sequence[Master], target: str, count: int) -> list[ReshardItem]:
    """``clusterManagerComputeReshardTable`` (§16.4): which slots a reshard moves.

    Sources are sorted by slot count, descending. redis-cli uses ``qsort``; glibc's
    ``qsort`` is a merge sort for arrays this small, so it is **stable**: sources with
    equal counts keep the order they were given in (checked on glibc 2.36, and the
    rebalance runs of tests/data/resharding.json need exactly that order).
    Source i contributes ``count / total * slots_i`` computed in C ``float``, rounded
    up for the first source and down for the others, taking its lowest-numbered slots;
    the table stops at ``count`` entries, so it may hold fewer than ``count``.
    """
    if not 1 <= count <= CLUSTER_SLOTS:
        raise PlanError(f"number of slots must be from 1 to {CLUSTER_SLOTS}, got {count}")
    masters_by_name(sources)
    if any(s.name == target for s in sources):
        raise PlanError("*** It is not possible to use the target node as source node.")
    if not sources:
        raise PlanError("*** No source nodes given, operation aborted.")
    total = sum(len(s.slots) for s in sources)
    if total == 0:
        # C computes count/0 = inf, inf*0 = NaN and (int)NaN; nothing is taken.
        return []
    ordered = sorted(sources, key=lambda s: -len(s.slots))  # stable, like glibc qsort
    table: list[ReshardItem] = []
    for i, node in enumerate(ordered):
        share = _f32(_f32(_f32(float(count)) / _f32(float(total))) * float(len(node.slots)))
        limit = int(math.ceil(share) if i == 0 else math.floor(share))
        for taken, slot in enumerate(node.slots):
            if taken >= limit or len(table) >= count:
                break
            table.append(ReshardItem(slot, node.name))
    return table


def reshard_all_sources(masters: Sequence[Master], target: str) -> list[Master]:
    """``--cluster-from all``: every master except the target, in node-table order."""
    if target not in masters_by_name(masters):
        raise PlanError(
            f"*** The specified node ({target}) is not known or not a master, please retry."
        )
    return [m for m in masters if m.name != target]


def explicit_reshard_plan(
    masters: Sequence[Master], target: str, slots: Iterable[int]
) -> list[ReshardItem]:
    """Move exactly the given slots to ``target`` (a simulator extension, not a
    redis-cli command: redis-cli only takes a count). Slots are moved in ascending order.
    """
    table = masters_by_name(masters)
    if target not in table:
        raise PlanError(f"unknown target master {target!r}")
    owner = {slot: m.name for m in masters for slot in m.slots}
    plan: list[ReshardItem] = []
    for slot in sorted(set(slots)):
        if not 0 <= slot < CLUSTER_SLOTS:
            raise PlanError(f"slot out of range 0-16383: {slot}")
        source = owner.get(slot)
        if source is None:
            raise PlanError(f"slot {slot} has no owner; nothing to move")
        if source == target:
            raise PlanError(f"slot {slot} is already owned by {target}")
        plan.append(ReshardItem(slot, source))
    return plan


def apply_reshard(
    masters: Sequence[Master], target: str, table: Iterable[ReshardItem]
) -> list[Master]:
    """The masters after every item of ``table`` moved to ``target`` (same order)."""
    slots = {m.name: set(m.slots) for m in masters}
    if target not in slots:
        raise PlanError(f"unknown target master {target!r}")
    for item in table:
        if item.slot not in slots.get(item.source, set()):
            raise PlanError(f"slot {item.slot} is not owned by {item.source}")
        slots[item.source].discard(item.slot)
        slots[target].add(item.slot)
    return [Master(m.name, tuple(slots[m.name]), m.keys, m.migrating, m.importing) for m in masters]


# --------------------------------------------------------------------------- rebalance


@dataclass(frozen=True, slots=True)
class RebalanceMove:
    """``Moving <len(slots)> slots from <source> to <target>``, in this slot order."""

    source: str
    target: str
    slots: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RebalancePlan:
    """What ``redis-cli --cluster rebalance`` would do.

    ``needed`` is False when every node is within the threshold; then ``moves`` is
    empty and ``message`` is redis-cli's "No rebalancing needed" line.
    ``balances`` are the per-node balances after the rounding fix, before moving.
    """

    needed: bool
    moves: tuple[RebalanceMove, ...]
    message: str
    total_weight: float
    balances: tuple[tuple[str, int], ...]


def _weight(value: float, name: str) -> float:
    weight = _f32(float(value))  # atof() result stored in a C float
    if not math.isfinite(weight) or weight < 0:
        raise PlanError(f"weight of {name} must be a finite number >= 0, got {value!r}")
    return weight


def rebalance_plan(
    masters: Sequence[Master],
    weights: Mapping[str, float] | None = None,
    threshold: float = REBALANCE_THRESHOLD,
    use_empty_masters: bool = False,
    check: bool = True,
) -> RebalancePlan:
    """``clusterManagerCommandRebalance`` (§16.5), step by step with C float rounding.

    1. weights (default 1.0); slot-less masters get weight 0 and are left out unless
       ``use_empty_masters``;
    2. ``expected = (int)((float)16384 / total_weight * weight)``, ``balance = slots - expected``;
    3. proceed only if some node's ``|100 - 100*expected/slots|`` exceeds the threshold
       (or it has 0 slots and expected > 1). Quirk kept: a threshold of 0 never proceeds;
    4. while the balances sum > 0, each node with balance <= 0 (node-table order) loses 1;
    5. stable sort by balance; move ``min(|b_dst|, |b_src|)`` slots from the last node to
       the first, the source's lowest-numbered slots first, until the pointers meet.
    """
    table = masters_by_name(masters)
    if check:
        errors = check_cluster(masters)
        if errors:
            raise PlanError(
                "*** Please fix your cluster problems before rebalancing: " + " ".join(errors)
            )
    node_weight = {m.name: 1.0 for m in masters}
    for name, value in (weights or {}).items():
        if name not in table:
            raise PlanError(f"*** No such master node {name}")
        node_weight[name] = _weight(value, name)
    involved: list[Master] = []
    total_weight = 0.0
    for m in masters:
        if not use_empty_masters and not m.slots:
            continue
        total_weight = _f32(total_weight + node_weight[m.name])
        involved.append(m)
    if not involved or total_weight <= 0:
        raise PlanError("rebalance needs at least one master with a weight above 0")
    threshold32 = _f32(float(threshold))
    per_weight = _f32(_f32(float(CLUSTER_SLOTS)) / total_weight)
    balance: dict[str, int] = {}
    over = False
    for m in involved:
        expected = int(_f32(per_weight * node_weight[m.name]))
        count = len(m.slots)
        balance[m.name] = count - expected
        if threshold32 > 0:
            if count > 0:
                err = _f32(abs(100 - (100.0 * expected / count)))
                over = over or err > threshold32
            elif expected > 1:
                over = True
    if not over:
        message = f"*** No rebalancing needed! All nodes are within the {threshold:.2f}% threshold."
        return RebalancePlan(False, (), message, total_weight, tuple(balance.items()))
    total = sum(balance.values())
    while total > 0:
        changed = False
        for m in involved:
            if balance[m.name] <= 0 and total > 0:
                balance[m.name] -= 1
                total -= 1
                changed = True
        if not changed:  # C would loop forever; cannot happen with full coverage
            raise PlanError("rebalance rounding cannot be fixed: no node can receive slots")
    fixed = tuple(balance.items())
    order = sorted(involved, key=lambda m: balance[m.name])  # stable, like glibc qsort
    remaining = {m.name: list(m.slots) for m in involved}
    moves: list[RebalanceMove] = []
    dst_idx, src_idx = 0, len(order) - 1
    while dst_idx < src_idx:
        dst, src = order[dst_idx], order[src_idx]
        numslots = min(abs(balance[dst.name]), abs(balance[src.name]))
        if numslots > 0:
            source = Master(src.name, tuple(remaining[src.name]))
            items = reshard_plan([source], dst.name, numslots)
            if len(items) != numslots:
                raise PlanError("*** Assertion failed: Reshard table != number of slots")
            moved = tuple(item.slot for item in items)
            taken = set(moved)
            remaining[src.name] = [s for s in remaining[src.name] if s not in taken]
            remaining[dst.name] = sorted(remaining[dst.name] + list(moved))
            moves.append(RebalanceMove(src.name, dst.name, moved))
        balance[dst.name] += numslots
        balance[src.name] -= numslots
        if balance[dst.name] == 0:
            dst_idx += 1
        if balance[src.name] == 0:
            src_idx -= 1
    message = f">>> Rebalancing across {len(involved)} nodes. Total weight = {total_weight:.2f}"
    return RebalancePlan(True, tuple(moves), message, total_weight, fixed)


def apply_moves(masters: Sequence[Master], moves: Iterable[RebalanceMove]) -> list[Master]:
    """The masters after the moves (same node-table order)."""
    slots = {m.name: set(m.slots) for m in masters}
    for move in moves:
        if move.target not in slots:
            raise PlanError(f"unknown target master {move.target!r}")
        owned = slots.get(move.source, set())
        missing = [s for s in move.slots if s not in owned]
        if missing:
            raise PlanError(f"slot {missing[0]} is not owned by {move.source}")
        owned.difference_update(move.slots)
        slots[move.target].update(move.slots)
    return [Master(m.name, tuple(slots[m.name]), m.keys, m.migrating, m.importing) for m in masters]


# --------------------------------------------------------------------------- slot moves


@dataclass(frozen=True, slots=True)
class Step:
    """One command redis-cli sends, addressed by node **name** (the integrator maps
    names to IDs and addresses).

    ``command`` is one of:

    - ``SETSLOT``: ``CLUSTER SETSLOT slot arg [peer]`` (arg IMPORTING/MIGRATING/NODE/STABLE);
    - ``MIGRATE_KEYS``: the key loop of ``clusterManagerMigrateKeysInSlot``: repeat
      ``CLUSTER GETKEYSINSLOT slot count`` on ``node`` and ``MIGRATE <peer> "" 0 60000
      KEYS …`` with what it returned, until it returns nothing (see :func:`expand_migrate`);
    - ``GETKEYSINSLOT`` / ``MIGRATE``: one concrete iteration of that loop;
    - ``SETSLOTOWNER``: ``clusterManagerSetSlotOwner``, one MULTI of ``DELSLOTS slot``
      (error ignored), ``ADDSLOTS slot``, ``SETSLOT slot STABLE`` if ``arg == "STABLE"``,
      ``BUMPEPOCH``;
    - ``DELSLOTS``: ``CLUSTER DELSLOTS slot`` ("not assigned" errors ignored).

    ``tolerate`` is an error prefix after which the procedure still continues.
    """

    node: str
    command: str
    slot: int
    arg: str = ""
    peer: str = ""
    keys: tuple[str, ...] = ()
    count: int = 0
    replace: bool = False
    tolerate: str = ""

    def commands(self) -> list[tuple[str, ...]]:
        """The Redis command(s) as argv tuples (node names stand in for IDs/addresses)."""
        s = str(self.slot)
        if self.command == "SETSLOT":
            tail = (self.peer,) if self.peer else ()
            return [("CLUSTER", "SETSLOT", s, self.arg, *tail)]
        if self.command == "GETKEYSINSLOT":
            return [("CLUSTER", "GETKEYSINSLOT", s, str(self.count))]
        if self.command == "MIGRATE":
            extra = ("REPLACE",) if self.replace else ()
            return [
                ("MIGRATE", self.peer, "", "0", str(MIGRATE_TIMEOUT_MS), *extra, "KEYS", *self.keys)
            ]
        if self.command == "MIGRATE_KEYS":
            return [
                ("CLUSTER", "GETKEYSINSLOT", s, str(self.count)),
                ("MIGRATE", self.peer, "", "0", str(MIGRATE_TIMEOUT_MS), "KEYS", "…"),
            ]
        if self.command == "SETSLOTOWNER":
            stable = [("CLUSTER", "SETSLOT", s, "STABLE")] if self.arg == "STABLE" else []
            return [
                ("MULTI",),
                ("CLUSTER", "DELSLOTS", s),
                ("CLUSTER", "ADDSLOTS", s),
                *stable,
                ("CLUSTER", "BUMPEPOCH"),
                ("EXEC",),
            ]
        if self.command == "DELSLOTS":
            return [("CLUSTER", "DELSLOTS", s)]
        raise AssertionError(self.command)


def expand_migrate(step: Step, keys: Sequence[str]) -> list[Step]:
    """The concrete GETKEYSINSLOT/MIGRATE pairs of a ``MIGRATE_KEYS`` loop step, given the
    keys in the order ``GETKEYSINSLOT`` returns them; ends with the empty GETKEYSINSLOT.
    """
    if step.command != "MIGRATE_KEYS":
        raise ValueError(f"not a MIGRATE_KEYS step: {step.command}")
    out: list[Step] = []
    for i in range(0, len(keys), step.count):
        batch = tuple(keys[i : i + step.count])
        out.append(Step(step.node, "GETKEYSINSLOT", step.slot, count=step.count))
        out.append(Step(step.node, "MIGRATE", step.slot, peer=step.peer, keys=batch))
    out.append(Step(step.node, "GETKEYSINSLOT", step.slot, count=step.count))
    return out


def move_slot_steps(
    slot: int,
    source: str,
    target: str,
    other_masters: Sequence[str],
    keys: Sequence[str] | None = None,
    pipeline: int = MIGRATE_PIPELINE,
    cold: bool = False,
) -> list[Step]:
    """``clusterManagerMoveSlot`` (§16.3): the ordered commands of one slot move.

    IMPORTING on the target, MIGRATING on the source, the key loop in batches of
    ``pipeline``, then ``SETSLOT NODE target`` on the target first (issue #7116), the
    source (tolerating "Please use SETSLOT only with masters.", issue #9223), and every
    other master in ``other_masters`` (node-table order). With ``keys`` (in
    GETKEYSINSLOT order) the loop is expanded; ``cold`` (used by ``fix``) skips every
    SETSLOT and only moves keys.
    """
    if not 0 <= slot < CLUSTER_SLOTS:
        raise PlanError(f"slot out of range 0-16383: {slot}")
    if source == target:
        raise PlanError(f"slot {slot}: source and target are both {source}")
    if pipeline < 1:
        raise PlanError(f"pipeline must be at least 1, got {pipeline}")
    loop = Step(source, "MIGRATE_KEYS", slot, peer=target, count=pipeline)
    migrate = [loop] if keys is None else expand_migrate(loop, keys)
    if cold:
        return migrate
    steps = [
        Step(target, "SETSLOT", slot, "IMPORTING", source),
        Step(source, "SETSLOT", slot, "MIGRATING", target),
        *migrate,
        Step(target, "SETSLOT", slot, "NODE", target),
        Step(source, "SETSLOT", slot, "NODE", target, tolerate=SETSLOT_REPLICA_ERROR),
    ]
    steps.extend(
        Step(other, "SETSLOT", slot, "NODE", target)
        for other in other_masters
        if other not in (source, target)
    )
    return steps
