"""``redis-cli --cluster fix`` (src/redis-cli.c 7.0.15 ``clusterManagerFix*``, §16.6), as
pure functions over :class:`~simulator.dataplane.redis_cli.Master` lists in node-table
order: close open slots, then cover unassigned ones. Planning only, like the other
planners of :mod:`simulator.dataplane.redis_cli`; the simulator runs the steps.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from simulator.dataplane.redis_cli import (
    DISAGREE,
    Master,
    Step,
    masters_by_name,
    move_slot_steps,
)
from simulator.slots import CLUSTER_SLOTS


@dataclass(frozen=True, slots=True)
class FixPlan:
    """What ``redis-cli --cluster fix`` would send, and its log lines.

    ``unfixed`` lists slots redis-cli gives up on ("can't fix this slot yet", or the
    refusal to fix with unreachable masters); redis-cli stops at the first one, so no
    step after it is planned. ``error`` is what makes redis-cli exit 1, or ``None``
    (``clusterManagerCheckCluster``'s result: the last check that set it wins).
    """

    steps: tuple[Step, ...]
    log: tuple[str, ...]
    unfixed: tuple[int, ...]
    error: str | None = None


class _Work:
    """A mutable copy of one master, for the planner's own bookkeeping."""

    def __init__(self, m: Master) -> None:
        self.name = m.name
        self.slots = set(m.slots)
        self.keys = {s: c for s, c in m.keys.items() if c > 0}
        self.migrating = dict(m.migrating)
        self.importing = dict(m.importing)

    def count(self, slot: int) -> int:
        return self.keys.get(slot, 0)


def _most_keys(nodes: Sequence[_Work], slot: int) -> _Work | None:
    """``clusterManagerGetNodeWithMostKeysInSlot``: strictly more wins, so ties go first."""
    best: _Work | None = None
    for n in nodes:
        if best is None or n.count(slot) > best.count(slot):
            best = n
    return best


def _move_keys(src: _Work, dst: _Work, slot: int) -> None:
    dst.keys[slot] = dst.count(slot) + src.keys.pop(slot, 0)


def _setslot(node: _Work, slot: int, arg: str, peer: _Work | None = None) -> Step:
    if arg == "STABLE":
        node.migrating.pop(slot, None)
        node.importing.pop(slot, None)
    elif arg == "IMPORTING" and peer is not None:
        node.importing[slot] = peer.name
    return Step(node.name, "SETSLOT", slot, arg, peer.name if peer else "")


def _fix_open_slot(slot: int, nodes: list[_Work], steps: list[Step], log: list[str]) -> bool:
    """``clusterManagerFixOpenSlot`` (§16.6): returns False when redis-cli gives up."""
    log.append(f">>> Fixing open slot {slot}")
    owners = [n for n in nodes if slot in n.slots or n.count(slot) > 0]
    owner = owners[0] if len(owners) == 1 else None
    migrating: list[_Work] = []
    importing: list[_Work] = []
    for n in nodes:
        if slot in n.migrating:
            migrating.append(n)
        elif slot in n.importing or (n is not owner and n.count(slot) > 0):
            importing.append(n)
    names = [m.name for m in nodes]
    if owner is None:
        owner = _most_keys(nodes, slot)
        if owner is None:
            log.append("[ERR] Can't select a slot owner. Impossible to fix.")
            return False
        log.append(f"*** Configuring {owner.name} as the slot owner")
        steps.append(_setslot(owner, slot, "STABLE"))
        steps.append(Step(owner.name, "SETSLOTOWNER", slot))
        owner.slots.add(slot)
        migrating = [n for n in migrating if n is not owner]
        importing = [n for n in importing if n is not owner]
    if len(owners) > 1:
        for n in owners:
            if n is owner:
                continue
            steps.append(Step(n.name, "DELSLOTS", slot, tolerate="*"))
            n.slots.discard(slot)
            steps.append(_setslot(n, slot, "NODE", owner))
            steps.append(_setslot(n, slot, "IMPORTING", owner))
            importing = [x for x in importing if x is not n] + [n]
            migrating = [x for x in migrating if x is not n]
    if len(migrating) == 1 and len(importing) == 1:
        src, dst = migrating[0], importing[0]
        log.append(f">>> Case 1: Moving slot {slot} from {src.name} to {dst.name}")
        steps.extend(move_slot_steps(slot, src.name, dst.name, names))
        _finish_move(src, dst, slot)
        src.slots.discard(slot)
        dst.slots.add(slot)
        return True
    if not migrating and importing:
        log.append(f">>> Case 2: Moving all the {slot} slot keys to its owner {owner.name}")
        for n in importing:
            if n is owner:
                continue
            steps.extend(move_slot_steps(slot, n.name, owner.name, names, cold=True))
            _move_keys(n, owner, slot)
            log.append(f">>> Setting {slot} as STABLE in {n.name}")
            steps.append(_setslot(n, slot, "STABLE"))
        for n in nodes:
            if n is not owner:
                steps.append(_setslot(n, slot, "NODE", owner))
        return True
    if len(migrating) == 1 and len(importing) > 1:
        if any(n.count(slot) > 0 for n in importing):
            return _unhandled(slot, migrating, importing, owner, log)
        src = migrating[0]
        target_name = src.migrating[slot]
        closer = next((n for n in importing if n.name == target_name), None)
        if closer is not None:
            dst = closer
            log.append(
                f">>> Case 3: Moving slot {slot} from {src.name} to {dst.name} "
                "and closing it on all the other importing nodes."
            )
            steps.extend(move_slot_steps(slot, src.name, dst.name, names))
            _finish_move(src, dst, slot)
            for n in importing:
                if n is not dst:
                    steps.append(_setslot(n, slot, "STABLE"))
        else:
            log.append(f">>> Case 3: Closing slot {slot} on both migrating and importing nodes.")
            steps.append(_setslot(src, slot, "STABLE"))
            for n in importing:
                steps.append(_setslot(n, slot, "STABLE"))
        return True
    if not importing and len(migrating) == 1:
        n = migrating[0]
        if owner is n or n.count(slot) == 0:
            log.append(f">>> Case 4: Closing slot {slot} on {n.name}")
            steps.append(_setslot(n, slot, "STABLE"))
            return True
    return _unhandled(slot, migrating, importing, owner, log)


def _finish_move(src: _Work, dst: _Work, slot: int) -> None:
    """Bookkeeping for a completed §16.3 move: keys moved, both marks cleared."""
    _move_keys(src, dst, slot)
    src.migrating.pop(slot, None)
    dst.importing.pop(slot, None)


def _unhandled(
    slot: int, migrating: list[_Work], importing: list[_Work], owner: _Work | None, log: list[str]
) -> bool:
    log.append(
        "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as "
        f"migrating in {','.join(n.name for n in migrating)}, as importing in "
        f"{','.join(n.name for n in importing)}, owner is {owner.name if owner else '(none)'}"
    )
    return False


def unreachable_warning(what: str, count: int) -> str:
    """The warning ``clusterManagerFixOpenSlot`` / ``clusterManagerFixSlotsCoverage``
    print before ``exit(1)`` when masters could not be loaded (§16.6)."""
    return (
        f"*** Fixing {what} with {count} unreachable masters is dangerous: redis-cli will "
        "assume that slots about masters that are not reachable are not covered, and will "
        "try to reassign them to the reachable nodes. This can cause data loss and is "
        "rarely what you want to do. If you really want to proceed use the "
        "--cluster-fix-with-unreachable-masters option."
    )


def fix_plan(
    masters: Sequence[Master],
    rng: random.Random | None = None,
    *,
    unreachable: int = 0,
    with_unreachable_masters: bool = False,
    consistent: bool = True,
) -> FixPlan:
    """``redis-cli --cluster fix`` (§16.6): close open slots, then cover unassigned slots.

    ``masters`` are the ones redis-cli could load; ``unreachable`` counts the masters it
    could not (a refused connection, or flagged ``fail``/``noaddr`` by the entry node).
    With any, each fixing pass refuses and redis-cli exits 1 unless
    ``with_unreachable_masters`` (``--cluster-fix-with-unreachable-masters``).
    ``consistent``: every loaded node maps slots to owners alike; when not, the exit
    status is 1 unless a later pass fixed something.

    Open slots (any node migrating or importing them) are fixed first, then slots no
    master claims: no keys anywhere => a random master (``rng``; redis-cli re-seeds
    ``srand(time(NULL))`` before every pick, so within one second every pick is the same
    master: one pick per plan here; without ``rng`` the first master); keys on one
    master => that master; keys on several => the one with most keys (first on ties),
    the others' keys moved to it. Slots are handled in ascending order (redis-cli walks
    a hash table; the order does not change the outcome). The
    ``--cluster-search-multiple-owners`` pass is outside this model.
    """
    masters_by_name(masters)
    nodes = [_Work(m) for m in masters]
    steps: list[Step] = []
    log: list[str] = [] if consistent else [DISAGREE]
    error = None if consistent else DISAGREE
    refuse = unreachable > 0 and not with_unreachable_masters
    open_slots = sorted({s for n in nodes for s in (*n.migrating, *n.importing)})
    for slot in open_slots:
        if refuse:
            log.append(unreachable_warning("open slots", unreachable))
            return FixPlan(tuple(steps), tuple(log), (slot,), log[-1])
        if not _fix_open_slot(slot, nodes, steps, log):
            return FixPlan(tuple(steps), tuple(log), (slot,), log[-1])
        error = None
    covered = {s for n in nodes for s in n.slots}
    uncovered = [s for s in range(CLUSTER_SLOTS) if s not in covered]
    if not uncovered or not nodes:
        return FixPlan(tuple(steps), tuple(log), (), error)
    if refuse:
        log.append(unreachable_warning("slots coverage", unreachable))
        return FixPlan(tuple(steps), tuple(log), (), log[-1])
    log.append(">>> Fixing slots coverage...")
    holders = {s: [n for n in nodes if n.count(s) > 0] for s in uncovered}
    none = [s for s in uncovered if not holders[s]]
    single = [s for s in uncovered if len(holders[s]) == 1]
    multi = [s for s in uncovered if len(holders[s]) > 1]
    if none:
        pick = nodes[rng.randrange(len(nodes))] if rng is not None else nodes[0]
        for s in none:
            log.append(f">>> Covering slot {s} with {pick.name}")
            steps.append(Step(pick.name, "SETSLOTOWNER", s))
            pick.slots.add(s)
    for s in single:
        n = holders[s][0]
        log.append(f">>> Covering slot {s} with {n.name}")
        steps.append(Step(n.name, "SETSLOTOWNER", s))
        n.slots.add(s)
    for s in multi:
        target = _most_keys(holders[s], s)
        assert target is not None
        log.append(f">>> Covering slot {s} moving keys to {target.name}")
        steps.append(Step(target.name, "SETSLOTOWNER", s, "STABLE"))
        target.slots.add(s)
        for src in holders[s]:
            if src is target:
                continue
            steps.append(_setslot(src, s, "NODE", target))
            steps.append(_setslot(src, s, "IMPORTING", target))
            steps.extend(move_slot_steps(s, src.name, target.name, [], cold=True))
            _move_keys(src, target, s)
            steps.append(_setslot(src, s, "STABLE"))
    return FixPlan(tuple(steps), tuple(log), ())


def fixed_masters(masters: Sequence[Master], plan: FixPlan) -> list[Master]:
    """The masters' slots, keys and open-slot marks once ``plan`` ran (for checks)."""
    nodes = {m.name: _Work(m) for m in masters}
    for step in plan.steps:
        node = nodes[step.node]
        if step.command == "SETSLOTOWNER":
            node.slots.add(step.slot)
            if step.arg == "STABLE":
                node.migrating.pop(step.slot, None)
                node.importing.pop(step.slot, None)
        elif step.command == "DELSLOTS":
            node.slots.discard(step.slot)
        elif step.command == "MIGRATE_KEYS":
            _move_keys(node, nodes[step.peer], step.slot)
        elif step.command == "SETSLOT":
            if step.arg == "STABLE":
                node.migrating.pop(step.slot, None)
                node.importing.pop(step.slot, None)
            elif step.arg == "IMPORTING":
                node.importing[step.slot] = step.peer
            elif step.arg == "MIGRATING":
                node.migrating[step.slot] = step.peer
            elif step.arg == "NODE":
                # SETSLOT NODE clears the node's own migrating mark when it holds no
                # keys of the slot and, on the new owner, its importing mark (§16.1).
                if node.count(step.slot) == 0:
                    node.migrating.pop(step.slot, None)
                if step.peer == node.name:
                    node.importing.pop(step.slot, None)
                    node.slots.add(step.slot)
                else:
                    node.slots.discard(step.slot)
    return [
        Master(n.name, tuple(n.slots), dict(n.keys), dict(n.migrating), dict(n.importing))
        for n in nodes.values()
    ]
